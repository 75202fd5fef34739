from sidecars.cli import main

main()
