from sidecars.ambassador import Ambassador
from sidecars.cli import main_for

main_for(Ambassador)
