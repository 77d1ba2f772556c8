"""Text from the source that ends up in commands or comments someone will paste or parse."""

from __future__ import annotations

import html

import pytest

from conftest import CATALOG_YAML, FETCH_YAML, REMOTE_YAML
from generator.build import build
from generator.errors import SourceInvalid


def test_copyable_commands_quote_source_values(write_tree, tmp_path):
    hostile = FETCH_YAML.replace("port: 8080\n", "port: 8080\nargs: ['$(touch /tmp/pwned)', 'a;id', 'two words']\n")
    remote = REMOTE_YAML.replace("https://mcp.example.com/mcp", "https://x.example/a;touch${IFS}/tmp/pwned2;#")
    out = tmp_path / "site"
    build(write_tree({"fetch.yaml": hostile, "docs-remote.yaml": remote}), out)
    fetch = html.unescape((out / "servers/fetch/index.html").read_text())
    assert "-- '$(touch /tmp/pwned)' 'a;id' 'two words'" in fetch
    remote_page = html.unescape((out / "servers/docs-remote/index.html").read_text())
    assert "thv run --name docs-remote 'https://x.example/a;touch${IFS}/tmp/pwned2;#'" in remote_page


@pytest.mark.parametrize("escape, message", [
    ("\\r", "holds \\u000d (1 control character): remove it"),
    ("\\N", "holds \\u0085 (1 control character): remove it"),
    ("\\L", "holds \\u2028 (1 line separator): remove it"),
    ("\\n", "holds a line break ('\\n'): this field is one line of text; remove it"),
])
def test_catalog_title_cannot_add_entries_to_the_mirror_lists(write_tree, tmp_path, escape, message):
    # The mirror lists name the catalog in a comment: a line break in the title would end it there.
    title = f'Corp{escape}evil.example.com: {{images: {{attacker/backdoor: [latest]}}}}{escape}#'
    catalog = CATALOG_YAML.replace("title: Test Catalog", f'title: "{title}"')
    out = tmp_path / "site"
    with pytest.raises(SourceInvalid) as refused:
        build(write_tree(catalog=catalog), out)
    (problem,) = refused.value.diagnostics
    assert (problem.line, problem.field) == (1, "title")
    assert problem.message == message
    assert not out.exists()
