"""Documentation keeps up with the code: every source field and CLI option is described."""

from __future__ import annotations

import re

import click
import pytest
from pydantic import BaseModel

from conftest import REPO
from generator import models
from generator.cli import main

MODELS = [
    value for value in vars(models).values()
    if isinstance(value, type) and issubclass(value, models.Strict) and value is not models.Strict
]


def _section(text: str, title: str) -> str:
    match = re.search(rf"^### {title}\n(.*?)(?=^### |\Z)", text, re.S | re.M)
    assert match, f"docs/source-format.md has no section '### {title}'"
    return match.group(1)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_model_field_is_documented(model: type[BaseModel]):
    section = _section((REPO / "docs" / "source-format.md").read_text(), model.__name__)
    documented = set(re.findall(r"^\| `([A-Za-z_]+)` \|", section, re.M))
    assert documented == set(model.model_fields), f"{model.__name__}: fix the table in docs/source-format.md"


def test_every_cli_option_is_in_the_readme():
    readme = (REPO / "README.md").read_text()
    for name, command in main.commands.items():
        assert f"mcp-catalog {name}" in readme, f"README does not show `mcp-catalog {name}`"
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.opts[-1] in readme or param.opts[0] in readme, f"README does not mention {name} {param.opts}"


def test_docs_api_says_not_shipped_as_the_site_and_diff_do():
    """Each reason a profile does not ship a server it admits has one label (`derived.not_shipped`):
    the profile's page and `diff` print it, and docs/api.md must quote the same words."""
    from generator import derived

    api = " ".join((REPO / "docs" / "api.md").read_text().split())
    for reason in derived.NOT_OFFERED_LABELS:
        assert f'`"{reason}"' in api and derived.not_shipped(reason) in api, reason


def test_the_pinned_rebuild_is_documented_as_a_new_release():
    """After the mirror step, `pin` changes every manifest, so the rebuild is another release, and
    `package` refuses a second release of one version (tests/test_release.py): the runbook (the pages'
    and README's mirror step, one function) and docs/bundles.md's install steps say to raise it, and
    that the release to install is the pinned one."""
    from generator.render.site.install import MIRROR_PLACEHOLDER, mirror_commands

    pin = next(line for line in mirror_commands(MIRROR_PLACEHOLDER, "production").splitlines() if "mcp-catalog pin" in line)
    assert "raise its version and rebuild" in pin
    steps = " ".join((REPO / "docs" / "bundles.md").read_text().partition("## The whole install, offline")[2].partition("\n### ")[0].split())
    assert "rebuild so every reference is pinned: that is a new release, so raise `version`" in steps
    assert "and install that one" in steps
