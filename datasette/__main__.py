"""`python -m datasette` runs the command line."""

from datasette.cli import cli

if __name__ == "__main__":
    cli()
