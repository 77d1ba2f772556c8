"""Allow `python -m generator` as an alias of the `mcp-catalog` command."""

from generator.cli import main

main()
