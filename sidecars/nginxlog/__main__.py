from sidecars.cli import main_for
from sidecars.nginxlog import NginxLog

main_for(NginxLog)
