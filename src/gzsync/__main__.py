"""`python -m gzsync` runs the CLI."""

from gzsync.cli import main

main()
