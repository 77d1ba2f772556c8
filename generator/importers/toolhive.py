"""ToolHive's current registry format: `{version, meta, data: {servers: [server.json]}}`.

Each server is an official MCP `server.json` (read by `mcp_registry`); ToolHive's
own facts (status, tools and tool definitions, tags, permissions, args,
provenance, overview, env vars of remotes) sit in the publisher block
`_meta["io.modelcontextprotocol.registry/publisher-provided"]["io.github.stacklok"]`,
keyed by the image reference or the remote URL.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from generator.importers import mcp_registry
from generator.importers.mapping import Candidate

def looks_like(document: Any) -> bool:
    """True for a mapping whose `data.servers` is a list."""
    data = document.get("data") if isinstance(document, Mapping) else None
    return isinstance(data, Mapping) and isinstance(data.get("servers"), list)


def candidates(document: Mapping[str, Any], origin: str) -> Iterator[Candidate]:
    """Every server of `data.servers` (the ToolHive publisher block is read by `mcp_registry`)."""
    for index, server in enumerate(document["data"]["servers"]):
        position = f"{origin}: data.servers[{index}]"
        if not isinstance(server, Mapping) or not isinstance(server.get("name"), str):
            yield Candidate(key=f"#{index}", short_name=f"server-{index}", position=position, problem="is not a server object with a name")
            continue
        yield mcp_registry.server_candidate(server, position, None)
