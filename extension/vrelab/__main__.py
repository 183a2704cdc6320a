from vrelab.cli import main

main()
