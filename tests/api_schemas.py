"""Validators for the reference schemas in ../shared/reference, with every remote $ref resolved locally.

ToolHive's schemas point at MCP's server schema (and ToolHive's own) by URL; the
registry below maps those URLs to the local copies so no test ever reaches the
network. Tests that need the copies skip with a message when they are absent.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker
from jsonschema.protocols import Validator
from referencing import Registry, Resource

from conftest import SHARED

MCP_SERVER_SCHEMA = "mcp-registry/2025-12-11.json"
UPSTREAM = "toolhive/upstream-registry.schema.json"
PUBLISHER = "toolhive/publisher-provided.schema.json"
LEGACY = "toolhive/toolhive-legacy-registry.schema.json"
_LOCAL = (MCP_SERVER_SCHEMA, UPSTREAM, PUBLISHER, LEGACY, "toolhive/skill.schema.json", "toolhive/plugin.schema.json")


def require_shared() -> Path:
    """The reference folder, or skip the test saying how to get it."""
    if not (SHARED / MCP_SERVER_SCHEMA).is_file():
        pytest.skip(f"reference schemas not found in {SHARED}: check out ../shared next to the repository")
    return SHARED


@cache
def _registry() -> Registry:
    resources = []
    for relative in _LOCAL:
        document = json.loads((require_shared() / relative).read_text(encoding="utf-8"))
        resources.append((document["$id"], Resource.from_contents(document)))
    return Registry().with_resources(resources)


def _load(relative: str) -> dict[str, Any]:
    return json.loads((require_shared() / relative).read_text(encoding="utf-8"))


def validator(relative: str) -> Validator:
    """A validator for one reference schema, formats checked, remote $refs served from local copies."""
    schema = _load(relative)
    cls = Draft7Validator if "draft-07" in schema.get("$schema", "") else Draft202012Validator
    return cls(schema, registry=_registry(), format_checker=FormatChecker())


def errors(relative: str, document: Any) -> list[str]:
    """Every violation of the reference schema, as `path: message` lines (empty when valid)."""
    found = validator(relative).iter_errors(document)
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found)
