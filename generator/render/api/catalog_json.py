"""The normalised catalog as one JSON document: `api/v1/catalog.json`.

It is every validated value with defaults filled in, in model order, so that
scripts see exactly what the renderers saw. It also marks an output folder
as one written by mcp-catalog (see `generator.output.check_output_dir`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from typing import Any

from generator.models import Catalog, Server
from generator.output import OutputFile
from generator.paths import CATALOG_JSON
from generator.render.context import RenderContext
from generator.render.encoding import Spliced, json_piece
from generator.render.kind import OutputKind, render_kind
from generator.render.memo import per_server


def catalog_document(catalog: Catalog) -> dict[str, Any]:
    """The normalised catalog as plain JSON data (also what `diff` compares between releases)."""
    return {
        "catalog": catalog.meta.model_dump(mode="json"),
        "servers": [server_record(catalog, server) for server in catalog.servers],
    }


def server_record(catalog: Catalog, server: Server) -> dict[str, Any]:
    """One server of the normalised catalog: its validated values and its overview."""
    return {**server.model_dump(mode="json", exclude_none=True), "overview": catalog.overviews.get(server.name)}


class CatalogRecords(Mapping[str, dict[str, Any]]):
    """Every server's record (`server_record`) by name, made each time it is asked for and never held:
    the catalog being built, as `build --previous` compares it with the previous release's."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._servers = {server.name: server for server in catalog.servers}

    def __getitem__(self, name: str) -> dict[str, Any]:
        return server_record(self._catalog, self._servers[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._servers)

    def __len__(self) -> int:
        return len(self._servers)


def record_digests(context: RenderContext) -> dict[str, bytes]:
    """The SHA-256 of each server's record as `api/v1/catalog.json` holds it (`encoded_record`), by name."""
    return {server.name: hashlib.sha256(encoded_record(context, server)).digest() for server in context.catalog.servers}


@per_server
def encoded_record(context: RenderContext, server: Server) -> bytes:
    """The server's record as a compact JSON piece of the catalog-wide document."""
    return json_piece(server_record(context.catalog, server))


def record_piece(context: RenderContext, server: Server) -> Iterator[OutputFile]:
    """No file of its own: the server's record, made while its server is rendered."""
    encoded_record(context, server)
    return iter(())


def catalog_file(context: RenderContext) -> Iterator[OutputFile]:
    """`api/v1/catalog.json`, the records spliced: the bytes `json_bytes(catalog_document(...))` gives."""
    catalog = context.catalog
    records = [encoded_record.lazy(context, s) for s in catalog.servers]
    meta = json_piece(catalog.meta.model_dump(mode="json"))
    yield OutputFile(CATALOG_JSON, Spliced((b'{"catalog":' + meta + b',"servers":[', records, b"]}\n")))


KIND = OutputKind("catalog_json", catalog_file, record_piece)


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield `api/v1/catalog.json`."""
    return render_kind(KIND, context)
