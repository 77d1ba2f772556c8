"""mcp-catalog: build a static, air-gap friendly catalog of curated MCP servers."""

__version__ = "0.1.0"
