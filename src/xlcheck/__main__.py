"""`python -m xlcheck`: the same as the `xlcheck` command."""
from .cli import main

main(prog_name="xlcheck")
