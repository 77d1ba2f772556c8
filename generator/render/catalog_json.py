"""The normalised catalog as one JSON document: `api/v1/catalog.json`.

It is every validated value with defaults filled in, in model order, so that
scripts see exactly what the renderers saw. It also marks an output folder
as one written by mcp-catalog (see `generator.output.check_output_dir`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.models import Catalog
from generator.output import OutputFile
from generator.render.context import RenderContext
from generator.paths import CATALOG_JSON
from generator.render.encoding import json_file


def catalog_document(catalog: Catalog) -> dict[str, Any]:
    """The normalised catalog as plain JSON data (also what `diff` compares between releases)."""
    return {
        "catalog": catalog.meta.model_dump(mode="json"),
        "servers": [
            {**server.model_dump(mode="json", exclude_none=True), "overview": catalog.overviews.get(server.name)}
            for server in catalog.servers
        ],
    }


def render(context: RenderContext) -> Iterator[OutputFile]:
    """Yield `api/v1/catalog.json`."""
    yield json_file(CATALOG_JSON, catalog_document(context.catalog))
