from sidecars.cli import main_for
from sidecars.waitfor import WaitFor

main_for(WaitFor)
