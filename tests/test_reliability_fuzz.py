"""Reliability: the source loader never fails with anything but a message (hypothesis, bounded for CI).

Marked `reliability`. Hostile server files built from YAML fragments that have broken
things before (impossible dates, NaN, tags, anchors, bidirectional controls, deep
nesting, duplicate keys, binary) and from arbitrary bytes: loading and validating them
ends in a validated catalog or `SourceInvalid`, never a traceback. A longer run with
atheris (bench/fuzz_loader.py) is recorded in bench/RESULTS.md.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CATALOG_YAML, FETCH_YAML
from generator.errors import SourceInvalid
from generator.source.validate import read_catalog

pytestmark = pytest.mark.reliability

SCALARS = st.sampled_from([
    "2026-02-30", "2026-13-01", "2026-01-01", "2026-01-01T10:00:00Z", ".nan", "-.inf", ".inf", "0x1F", "1e400",
    "!!binary aGVsbG8=", "!!python/object:os.system", "&a x", "*a", "'quoted'", "\"\\u202e\"", "F\u0435tch",
    "a\u202eb", "\u200b", "~", "null", "yes", "on", "[1, 2", "{a: 1}", "- x", "con", "|", ">", "\t", "", "<script>",
    "9" * 400, "'" + "x" * 3000 + "'",
])
KEYS = st.sampled_from(["name", "title", "description", "updated", "version", "tools", "input_schema", "default",
                        "port", "env", "tags", "category", "image", "digest", "x", "name"])


@st.composite
def server_files(draw) -> bytes:
    """FETCH_YAML with some lines replaced or added: mostly valid, hostile where it counts."""
    lines = FETCH_YAML.splitlines()
    for _ in range(draw(st.integers(1, 6))):
        index = draw(st.integers(0, len(lines)))
        indent = " " * draw(st.sampled_from([0, 2, 4, 6, 8]))
        line = f"{indent}{draw(KEYS)}: {draw(SCALARS)}"
        if draw(st.booleans()) and index < len(lines):
            lines[index] = line
        else:
            lines.insert(index, line)
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")


def _load(tmp_path: Path, content: bytes) -> None:
    root = tmp_path / "fuzz"
    (root / "servers").mkdir(parents=True, exist_ok=True)
    (root / "catalog.yaml").write_text(textwrap.dedent(CATALOG_YAML))
    (root / "servers" / "fetch.yaml").write_bytes(content)
    try:
        read_catalog(root)
    except SourceInvalid as invalid:
        assert invalid.diagnostics, "SourceInvalid without a diagnostic"
        for diagnostic in invalid.diagnostics:
            assert "\u202e" not in diagnostic.message, "a bidirectional control printed raw"


FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(server_files())
def test_hostile_server_files_end_in_a_message(tmp_path, content):
    _load(tmp_path, content)


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_end_in_a_message(tmp_path, content):
    _load(tmp_path, content)
