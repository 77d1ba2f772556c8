"""Arrows point down only: the modules at the bottom of the pipeline import nothing above them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GENERATOR = Path(__file__).resolve().parent.parent / "generator"
# Each bottom module, and the only modules of the program it may import.
BOTTOM = {
    "text.py": set(),
    "schema_rules.py": set(),
    "models.py": {"generator.text", "generator.schema_rules"},
    "diagnostics.py": set(),
    "errors.py": {"generator.diagnostics"},
}


def program_imports(module: Path) -> set[str]:
    """The `generator` modules that `module` imports, wherever in it the import stands."""
    found = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "generator":
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "generator"}
    return found


@pytest.mark.parametrize("name", sorted(BOTTOM))
def test_a_bottom_module_imports_nothing_above_it(name: str) -> None:
    assert program_imports(GENERATOR / name) <= BOTTOM[name]
