from sidecars.cli import main_for
from sidecars.injector import Injector

main_for(Injector)
