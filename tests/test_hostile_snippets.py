"""Text from the source that ends up in commands or comments someone will paste or parse."""

from __future__ import annotations

import html
import re

import yaml

from conftest import CATALOG_YAML, FETCH_YAML, REMOTE_YAML
from generator.build import build


def test_copyable_commands_quote_source_values(write_tree, tmp_path):
    hostile = FETCH_YAML.replace("port: 8080\n", "port: 8080\nargs: ['$(touch /tmp/pwned)', 'a;id', 'two words']\n")
    remote = REMOTE_YAML.replace("https://mcp.example.com/mcp", "https://x.example/a;touch${IFS}/tmp/pwned2;#")
    out = tmp_path / "site"
    build(write_tree({"fetch.yaml": hostile, "docs-remote.yaml": remote}), out)
    fetch = html.unescape((out / "servers/fetch/index.html").read_text())
    assert "-- '$(touch /tmp/pwned)' 'a;id' 'two words'" in fetch
    remote_page = html.unescape((out / "servers/docs-remote/index.html").read_text())
    assert "thv run --name docs-remote 'https://x.example/a;touch${IFS}/tmp/pwned2;#'" in remote_page


def test_catalog_title_cannot_add_entries_to_the_mirror_lists(write_tree, tmp_path):
    title = 'Corp\\revil.example.com: {images: {attacker/backdoor: [latest]}}\\r#'
    catalog = CATALOG_YAML.replace("title: Test Catalog", f'title: "{title}"')
    out = tmp_path / "site"
    build(write_tree(catalog=catalog), out)
    for name in ("hauler-images.yaml", "zarf.yaml"):
        text = (out / "mirror" / name).read_text()
        assert not re.search("[\r\x85\u2028\u2029]", text.split("\n", 1)[0]), name
        assert "evil.example.com" not in yaml.safe_load(text), name
