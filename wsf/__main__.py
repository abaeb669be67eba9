"""`python -m wsf`: the same command as `wsf`."""

from wsf.cli import main

main(prog_name="wsf")
