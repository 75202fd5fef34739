from sidecars.cli import main_for
from sidecars.gitsync import GitSync

main_for(GitSync)
