"""Importers: foreign registry formats in, curated source files out.

One module per foreign format (ToolHive legacy, ToolHive current, the official
MCP `server.json`, Docker's MCP registry folders) turns a parsed document into
`Candidate`s; `mapping` holds the rules they share (names, descriptions, env,
permissions, tools); `run.import_sources` reads the inputs, validates every
candidate against the source models and writes the files. Importers never
touch the build: their only output is the source folder the build reads.
"""

FORMAT_NAMES = ("toolhive", "toolhive-legacy", "mcp-registry", "docker")
"""The formats `mcp-catalog import --format` accepts (each module's test in `inputs.FORMATS`),
named here so that the CLI need not import the importers to offer them."""
