"""`python -m pdmigrate` runs the CLI."""

from pdmigrate.cli import main

main()
