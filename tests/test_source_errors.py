"""Bad input: every case gets `path:line: field: message`, exit 1 and no traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CATALOG_YAML, DEFAULT_SOURCE, FETCH_YAML, REMOTE_YAML
from generator.cli import main


def validate(runner: CliRunner, source: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(main, ["validate", "--source", str(source), *extra])
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def fetch_with(replace: str, by: str) -> str:
    assert replace in FETCH_YAML
    return FETCH_YAML.replace(replace, by)


def test_clean_tree_passes_with_summary(write_tree, runner):
    code, out = validate(runner, write_tree())
    assert code == 0, out
    assert out.strip().splitlines()[-1] == "2 servers, 2 tools, 0 warnings"


def test_malformed_yaml_reports_its_line(write_tree, runner):
    source = write_tree({"fetch.yaml": fetch_with("tags: [web, http]", "tags: [web, http")})
    code, out = validate(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:7: invalid YAML:" in out


@pytest.mark.parametrize("replace, by, expected", [
    # An unclosed quote is found at the end of the file and reported where it begins.
    ("title: Fetch", 'title: "unclosed',
     "2: invalid YAML: while scanning a quoted scalar that starts here: found unexpected end of stream (line 26): close the quote this value opens (inside \"...\" write \\\" for a quote, inside '...' write '')"),
    ("tags: [web, http]", "tags: [web, http",
     "7: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence that starts on line 6)"),
    # The indentation mistakes of a hand-edited file say what to do.
    ("      allow_port: [443]", "     allow_port: [443]",
     "19: invalid YAML: did not find expected key (while parsing a block mapping that starts on line 17): "
     "indent this line with as many spaces as the keys or items beside it"),
    ("    description: Fetch a URL.", "   description: Fetch a URL.",
     "22: invalid YAML: did not find expected '-' indicator (while parsing a block collection that starts on line 21): "
     "indent this line with as many spaces as the keys or items beside it"),
    ("license: Apache-2.0", " license: Apache-2.0",
     "10: invalid YAML: mapping values are not allowed in this context: quote a value that holds ': ', "
     "or indent this line with as many spaces as the keys beside it"),
])
def test_a_syntax_error_names_the_line_to_edit_and_what_was_being_read(write_tree, runner, replace, by, expected):
    source = write_tree({"fetch.yaml": fetch_with(replace, by)})
    code, out = validate(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:{expected}" in out.splitlines()


@pytest.mark.parametrize("character, shown", [("\x00", "\\u0000"), ("\x1b", "\\u001b"), ("\x9b", "\\u009b")])
def test_a_raw_control_character_is_one_line_with_its_line_number(write_tree, runner, character, shown):
    raw = fetch_with("publisher: Stacklok", f"publisher: St\u00e4ck{character}lok").encode("utf-8")
    source = write_tree({"fetch.yaml": raw})
    code, out = validate(runner, source)
    assert code == 1
    assert out.splitlines()[0] == (f"{source}/servers/fetch.yaml:8: invalid YAML: "
                                   f"control characters are not allowed: remove the character {shown}")
    assert "position" not in out



@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_a_raw_line_separator_is_reported_on_the_line_an_editor_shows(write_tree, runner, separator):
    """YAML readers count U+2028, U+2029 and U+0085 as line breaks, editors do not: reported by the
    reader, it and every later problem would be a line off."""
    raw = fetch_with("publisher: Stacklok", f"publisher: Stack{separator}lok").replace("tier: validated", "tier: golden")
    source = write_tree({"fetch.yaml": raw.encode("utf-8")})
    code, out = validate(runner, source)
    assert code == 1
    assert out.splitlines()[0].startswith(f"{source}/servers/fetch.yaml:8: holds \\u{ord(separator):04x} ("), out
    assert "a YAML reader takes it for a line break" in out.splitlines()[0]

def test_non_utf8_file_names_the_line(write_tree, runner):
    raw = FETCH_YAML.replace("Fetches web pages", "Fetches w\xe9b pages").encode("latin-1")
    source = write_tree({"fetch.yaml": raw})
    code, out = validate(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:3: file is not UTF-8 (byte 0xe9)" in out


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(write_tree, runner, text):
    source = write_tree({"fetch.yaml": text})
    code, out = validate(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml: file is empty: expected a mapping of fields" in out


def test_top_level_list_is_refused(write_tree, runner):
    source = write_tree({"fetch.yaml": "- name: fetch\n"})
    code, out = validate(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:1: expected a mapping of fields at the top level" in out


def test_file_over_one_mebibyte(write_tree, runner):
    source = write_tree({"fetch.yaml": FETCH_YAML + "#" * (1 << 20) + "\n"})
    code, out = validate(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml: file is {(1 << 20) + len(FETCH_YAML) + 1} bytes; the limit is" in out


def test_alias_bomb_is_refused_before_expansion(write_tree, runner):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(20)
    )
    source = write_tree({"fetch.yaml": bomb})
    code, out = validate(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:1: a: YAML anchors and aliases are not allowed" in out
    assert f"{source}/servers/fetch.yaml:2: b: YAML anchors and aliases are not allowed" in out
    # One line per line of the file, not one per alias (the bomb's 21 lines hold 101 anchors and aliases).
    assert out.count("YAML anchors and aliases are not allowed") == 21, out
    # An alias inside an anchored list is the bomb's shape: the file is not read on without its values.
    assert "required field is missing" not in out


def test_ampersand_inside_text_is_not_an_anchor(write_tree, runner):
    source = write_tree({"fetch.yaml": fetch_with("Fetches web pages", "Q&A * fetches web pages"), "fetch.md": "x"})
    code, out = validate(runner, source)
    assert code == 0, out


def test_tab_indentation(write_tree, runner):
    source = write_tree({"fetch.yaml": fetch_with("      allow_port: [443]", "\t\t\tallow_port: [443]")})
    code, out = validate(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:19: tab character in indentation: indent with spaces" in out


def test_duplicate_keys_name_both_lines(write_tree, runner):
    source = write_tree({"fetch.yaml": FETCH_YAML + "title: Again\n"})
    code, out = validate(runner, source)
    assert code == 1
    last = len(FETCH_YAML.splitlines()) + 1
    assert f"{source}/servers/fetch.yaml:{last}: title: duplicate key 'title' (first defined on line 2)" in out


def test_symlink_out_of_source_folder(write_tree, runner, tmp_path):
    outside = tmp_path / "outside.yaml"
    outside.write_text(FETCH_YAML)
    source = write_tree({})
    os.symlink(outside, source / "servers" / "fetch.yaml")
    code, out = validate(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml: symlink points outside the source folder" in out


def test_symlink_inside_source_folder_is_fine(write_tree, runner):
    source = write_tree({})
    (source / "shared.yaml").write_text(FETCH_YAML)
    os.symlink(source / "shared.yaml", source / "servers" / "fetch.yaml")
    code, out = validate(runner, source)
    assert code == 0, out


def broken_symlinks(source: Path) -> list[str]:
    """A symlink loop and a symlink to nothing in servers/ (and a type error beside them); the messages expected."""
    servers = source / "servers"
    os.symlink("loop1.yaml", servers / "loop2.yaml")
    os.symlink("loop2.yaml", servers / "loop1.yaml")
    os.symlink("nonexist.yaml", servers / "dangling.yaml")
    (servers / "fetch.yaml").write_text(fetch_with("port: 8080", "port: http"))
    return [
        f"{servers}/dangling.yaml: symlink points to nonexist.yaml, which does not exist: make it point to a file, or remove it",
        f"{servers}/loop1.yaml: symlink loop (it leads back to itself): make it point to a file, or remove it",
        f"{servers}/loop2.yaml: symlink loop (it leads back to itself): make it point to a file, or remove it",
        f"{servers}/fetch.yaml:14: port: must be a whole number, not 'http'",
    ]


def test_symlink_loops_and_symlinks_to_nothing_are_reported_with_the_other_problems(write_tree, runner):
    source = write_tree()
    expected = broken_symlinks(source)
    code, out = validate(runner, source)
    assert code == 1
    assert set(expected) <= set(out.splitlines()), out


def test_a_build_reports_broken_symlinks_as_source_problems_and_keeps_the_site(write_tree, runner, tmp_path):
    source, site = write_tree(), tmp_path / "site"
    result = runner.invoke(main, ["build", "--source", str(source), "--out", str(site)])
    assert result.exit_code == 0, result.output
    index = (site / "index.html").read_bytes()
    expected = broken_symlinks(source)
    result = runner.invoke(main, ["build", "--source", str(source), "--out", str(site)])
    assert result.exit_code == 1
    assert set(expected) <= set(result.output.splitlines()), result.output
    assert "build cache" not in result.output
    assert (site / "index.html").read_bytes() == index


def test_a_source_file_that_fails_while_read_is_not_blamed_on_the_build_cache(write_tree, runner, tmp_path, monkeypatch):
    # What the loader cannot foresee (a file removed between listing and reading it) is a source problem.
    source = write_tree()
    vanished = source / "servers" / "fetch.yaml"

    def removed_meanwhile(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError(2, "No such file or directory", str(vanished))

    monkeypatch.setattr("generator.source.validate.load_source", removed_meanwhile)
    result = runner.invoke(main, ["build", "--source", str(source), "--out", str(tmp_path / "site")])
    assert result.exit_code == 1
    assert f"{vanished}: cannot read it: No such file or directory" in result.output, result.output
    assert "build cache" not in result.output


@pytest.mark.parametrize("file_name", ["fetch..yaml", "fe..tch.yaml", "Fetch.yaml", "fetch_1.yaml"])
def test_file_names_must_be_dns_labels(write_tree, runner, file_name):
    source = write_tree({file_name: FETCH_YAML})
    code, out = validate(runner, source)
    assert code == 1
    assert f"{source}/servers/{file_name}: file name must be a DNS-1123 label" in out


@pytest.mark.parametrize("name", ["../etc", "a/b", "..", "fetch/../x"])
def test_names_with_dots_or_slashes(write_tree, runner, name):
    source = write_tree({"fetch.yaml": fetch_with("name: fetch", f"name: '{name}'")})
    code, out = validate(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:1: name: must be a DNS-1123 label" in out


def test_explicit_python_tag_is_refused(write_tree, runner):
    source = write_tree({"fetch.yaml": fetch_with("title: Fetch", "title: !!python/object:os.system echo")})
    code, out = validate(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:2: title: tag tag:yaml.org,2002:python/object:os.system is not allowed" in out


# A server file with problems besides the refused value: an unknown category (a check across files),
# a second tool named like the first, and a hidden character in that tool's description (a warning).
MORE_PROBLEMS = fetch_with("category: web", "category: nowhere") + "  - name: fetch\n    description: Fetch a \u202eURL.\n"
NO_DATE = "reads as a date that does not exist: correct the date (or, where it is not meant as one, quote it)"
ANCHOR = "YAML anchors and aliases are not allowed: write the value out"
KEY_ANCHOR = "YAML anchors and aliases are not allowed on a key: write the key out"


@pytest.mark.parametrize(("text", "refused", "tool_line"), [
    (MORE_PROBLEMS.replace("tier: validated", "tier: validated\nupdated: 2026-02-30"),
     [(8, f"updated: '2026-02-30' {NO_DATE}")], 27),
    (MORE_PROBLEMS.replace("publisher: Stacklok", "publisher: &who Stacklok").replace("license: Apache-2.0", "license: *who"),
     [(8, f"publisher: {ANCHOR}"), (10, f"license: {ANCHOR}")], 26),
    (MORE_PROBLEMS.replace("license: Apache-2.0", "license: !!python/object:os.system echo"),
     [(10, "license: tag tag:yaml.org,2002:python/object:os.system is not allowed")], 26),
    (MORE_PROBLEMS + "title: Again\n", [(28, "title: duplicate key 'title' (first defined on line 2)")], 26),
    (MORE_PROBLEMS.replace("publisher: Stacklok", "&who publisher: Stacklok"), [(8, f"publisher: {KEY_ANCHOR}")], 26),
    (MORE_PROBLEMS.replace("permissions:", "!!str permissions:"),
     [(15, "permissions: tag tag:yaml.org,2002:str is not allowed on a key: write the key plainly")], 26),
    (MORE_PROBLEMS.replace("publisher: Stacklok", "publisher: &who Stacklok\n? *who\n: Stacklok"),
     [(8, f"publisher: {ANCHOR}"), (9, KEY_ANCHOR)], 28),
], ids=["nonexistent-date", "anchor-and-alias", "python-tag", "duplicate-key", "anchor-on-key", "tag-on-key", "alias-as-key"])
def test_a_refused_value_hides_none_of_the_files_other_problems(write_tree, runner, text, refused, tool_line):
    """The value is left out, reported on its line with its field, and the file is checked as any other."""
    source = write_tree({"fetch.yaml": text, "fetch.md": "x", "docs-remote.yaml": REMOTE_YAML, "docs-remote.md": "x"})
    code, out = validate(runner, source, "--verbose")
    assert code == 1
    at = f"{source}/servers/fetch.yaml:"
    errors = sorted([
        (5, "category: unknown category 'nowhere'; declared in catalog.yaml: data, web"),
        *refused,
        (tool_line, "tools[1]: duplicate tool name 'fetch'"),
    ])
    assert out.strip().splitlines() == [f"{at}{line}: {problem}" for line, problem in errors] + [
        f"{at}{tool_line + 1}: tools[1].description: warning: holds \\u202e (bidirectional control or invisible "
        "character): the text 'Fetch a \\u202eURL.' does not read as it is; remove it",
        f"validation failed: {len(refused) + 2} error(s), 1 warning(s)",
    ]


def test_a_refused_list_item_is_reported_once(write_tree, runner):
    """A list keeps a placeholder where the item was (the items after it keep their index), never reported itself."""
    text = fetch_with("tags: [web, http]", "tags: [web, 2026-02-30, http]").replace("Fetch a URL.", "Fetch a \u202eURL.")
    source = write_tree({"fetch.yaml": text, "fetch.md": "x"})
    code, out = validate(runner, source, "--verbose")
    assert code == 1
    assert out.strip().splitlines() == [
        f"{source}/servers/fetch.yaml:6: tags[1]: '2026-02-30' {NO_DATE}",
        f"{source}/servers/fetch.yaml:22: tools[0].description: warning: holds \\u202e (bidirectional control or invisible "
        "character): the text 'Fetch a \\u202eURL.' does not read as it is; remove it",
        "validation failed: 1 error(s), 1 warning(s)",
    ]


def test_two_fields_refused_alike_on_one_line_are_two_problems(write_tree, runner):
    """A line of list items refused alike is one problem (an alias bomb has thousands); two mapping fields are two."""
    text = fetch_with("port: 8080\n", "port: 8080\nresources: {cpu: !!binary aGk=, memory: !!binary aGk=}\n")
    source = write_tree({"fetch.yaml": text, "fetch.md": "x"})
    code, out = validate(runner, source)
    assert code == 1
    assert [line.split(": ", 2)[1] for line in out.strip().splitlines()[:-1]] == ["resources.cpu", "resources.memory"]


class _CountingPaths(frozenset):
    """Refused paths that count the membership tests made of them and refuse to be walked."""

    tests = 0

    def __contains__(self, item: object) -> bool:
        type(self).tests += 1
        return super().__contains__(item)

    def __iter__(self):  # type: ignore[no-untyped-def]
        raise AssertionError("walked every refused path for one message: quadratic in a file of aliases")


def test_each_message_is_checked_against_the_refused_values_by_lookup():
    """A model message is dropped when it is at or under a refused value, found by one set lookup per
    depth of its path: comparing it with every refused path was quadratic (8,000 aliases took 10 s
    to validate, a 1 MiB file of them hours)."""
    from pydantic import BaseModel, ValidationError

    from generator.source.messages import diagnostics_from
    from generator.source.yamlsafe import load_mapping

    class Listing(BaseModel):
        tags: list[int]
        size: int

    loaded = load_mapping(b"tags: [" + b", ".join([b"x"] * 2000) + b"]\nsize: 1\n", partial=True)
    loaded.refused = _CountingPaths({("tags", index) for index in range(0, 2000, 2)})
    try:
        Listing.model_validate(loaded.data)
    except ValidationError as error:
        found = diagnostics_from(error, Listing, loaded, "f.yaml")
    assert len(found) == 1000  # the odd items: not refused, so reported
    assert _CountingPaths.tests <= 2000 * 2


def test_a_nonexistent_date_in_the_catalog_hides_none_of_its_other_problems(write_tree, runner):
    """`last_updated` is reported once, not also as missing; the other fields and the server files are checked."""
    catalog = CATALOG_YAML.replace("last_updated: 2026-11-01T00:00:00Z", "last_updated: 2026-02-30T00:00:00Z")
    catalog = catalog.replace("namespace: com.example.test", "namespace: Not_Reverse")
    source = write_tree({"fetch.yaml": fetch_with("category: web", "category: nowhere"), "fetch.md": "x"}, catalog=catalog)
    code, out = validate(runner, source)
    assert code == 1
    assert out.strip().splitlines() == [
        f"{source}/catalog.yaml:4: namespace: must be a reverse-DNS name such as com.example.mcp",
        f"{source}/catalog.yaml:5: last_updated: '2026-02-30T00:00:00Z' {NO_DATE}",
        f"{source}/servers/fetch.yaml:5: category: unknown category 'nowhere'; declared in catalog.yaml: data, web",
        "validation failed: 3 error(s), 0 warning(s)",
    ]


def test_a_file_read_without_a_refused_value_is_validated_but_not_kept_for_the_next_build(write_tree, monkeypatch):
    """Parsed in a worker or here, the file is checked without the value, and never cached as parsed cleanly."""
    from generator.source import load

    source = write_tree({"fetch.yaml": fetch_with("tier: validated", "tier: validated\nupdated: 2026-02-30"),
                         "fetch.md": "x", "docs-remote.yaml": REMOTE_YAML, "docs-remote.md": "x"})
    for threshold in (10**6, 1):  # in this process, then in workers
        monkeypatch.setattr(load, "PARALLEL_THRESHOLD", threshold)
        tree = load.load_source(source)
        assert [s.server.name for s in tree.servers] == ["docs-remote", "fetch"]
        assert [d.format() for d in tree.diagnostics] == [f"{source}/servers/fetch.yaml:8: updated: '2026-02-30' {NO_DATE}"]
        assert sorted(tree.parsed) == ["docs-remote"]


def test_deep_nesting_is_refused(write_tree, runner):
    source = write_tree({"fetch.yaml": "a: " + "[" * 200 + "]" * 200 + "\n"})
    code, out = validate(runner, source)
    assert code == 1
    assert "nested deeper than 64 levels" in out


def test_two_documents_in_one_file(write_tree, runner):
    source = write_tree({"fetch.yaml": FETCH_YAML + "---\nname: other\n"})
    code, out = validate(runner, source)
    assert code == 1
    second = len(FETCH_YAML.splitlines()) + 1
    assert f"{source}/servers/fetch.yaml:{second}: only one YAML document per file (remove the second '---')" in out


def test_script_in_description_is_kept_as_plain_text(write_tree, runner, tmp_path):
    hostile = "<script>alert(1)</script> {{ 7*7 }}"
    source = write_tree({"fetch.yaml": fetch_with("Fetches web pages and returns them as Markdown.", f"'{hostile}'")})
    code, out = validate(runner, source)
    assert code == 0, out
    from generator.source.validate import read_catalog

    assert read_catalog(source).catalog.server("fetch").description == hostile


def test_every_problem_is_reported_at_once(write_tree, runner):
    broken_fetch = fetch_with("category: web", "category: nowhere").replace("port: 8080", "port: 70000")
    broken_remote = REMOTE_YAML.replace("url: https://mcp.example.com/mcp", "url: ftp://mcp.example.com/mcp")
    source = write_tree({"fetch.yaml": broken_fetch, "docs-remote.yaml": broken_remote, "bad.yaml": "a: [\n"})
    code, out = validate(runner, source)
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"{source}/servers/bad.yaml:2: invalid YAML: ")
    assert f"{source}/servers/docs-remote.yaml:10: remote.url: must be an http:// or https:// URL" in lines
    assert f"{source}/servers/fetch.yaml:14: port: input should be less than or equal to 65535" in lines
    assert lines[-1] == "validation failed: 3 error(s), 0 warning(s)"


@pytest.mark.parametrize("file_name", ["._fetch.yaml", ".#fetch.yaml", "..fetch.yaml", ".fetch.md"])
def test_dot_files_are_left_alone(write_tree, runner, file_name):
    """macOS AppleDouble files, editor locks and other dot files are not server files."""
    source = write_tree()
    (source / "servers" / file_name).write_bytes(b"\x00\x05\x16\x07 not yaml at all")
    code, out = validate(runner, source)
    assert code == 0, out


FAST_PATH_DOCUMENTS = [
    "a: 1\nb: [x, {c: d, e: [1, 2, {f: null}]}]\ng: {}\nh: []\ni: ''\nj:\n",
    "list:\n  - name: one\n    tags: [a, b]\n  - name: two\n    nested: {deep: {deeper: [true, no, 1.5, 2026-01-02]}}\n",
    "text: |\n  two\n  lines\nfolded: >-\n  one\n  line\nquoted: \"x: y\"\n",
]


@pytest.mark.parametrize("text", FAST_PATH_DOCUMENTS)
def test_the_fast_yaml_path_gives_the_careful_paths_values(text: str) -> None:
    from generator.source.yamlsafe import _fast_values, load_mapping

    assert _fast_values(text) == load_mapping(text.encode(), track_lines=True).data


def test_the_fast_yaml_path_agrees_on_every_default_server_file() -> None:
    from generator.source.yamlsafe import _fast_values, load_mapping

    for path in sorted((DEFAULT_SOURCE / "servers").glob("*.yaml")):
        raw = path.read_bytes()
        assert _fast_values(raw.decode()) == load_mapping(raw, track_lines=True).data, path.name


@pytest.mark.parametrize("text", ["a: 1\na: 2\n", "a: &x 1\nb: *x\n", "? [a]\n: 1\n", "--- \na: 1\n---\nb: 2\n"])
def test_the_fast_yaml_path_hands_anything_unusual_to_the_careful_path(text: str) -> None:
    from generator.source.yamlsafe import _REFUSED, _fast_values

    assert _fast_values(text) is _REFUSED


@pytest.mark.parametrize(("version", "message"), [
    ("latest", "'latest' is reserved by the MCP registry (it names the newest version): "
               "use the real version the image or package carries, e.g. 1.4.2"),
    ("^1.2.3", "'^1.2.3' is a version range, which the MCP registry refuses: use the one real version"),
    (">=1.0", "'>=1.0' is a version range, which the MCP registry refuses: use the one real version"),
    ("1.2.x", "'1.2.x' is a version range, which the MCP registry refuses: use the one real version"),
    ("1.2||1.3", "'1.2||1.3' is a version range, which the MCP registry refuses: use the one real version"),
    ("index.json", "'index.json' is the file name of the mirror's versions list: use the real version, e.g. 1.4.2"),
])
def test_versions_the_official_registry_refuses(write_tree, runner, version, message):
    source = write_tree({"fetch.yaml": fetch_with("version: 1.0.3", f"version: '{version}'")})
    code, out = validate(runner, source)
    assert code == 1
    assert f"{source}/servers/fetch.yaml:4: version: {message}" in out


@pytest.mark.parametrize("version", ["2026.1.26", "1.0.0-rc.1", "v2", "1.2.3+build.7", "x11-2"])
def test_specific_versions_pass(write_tree, runner, version):
    source = write_tree({"fetch.yaml": fetch_with("version: 1.0.3", f"version: '{version}'")})
    code, out = validate(runner, source)
    assert code == 0, out


def test_a_pull_secret_may_not_share_a_name_with_a_secret_others_create(write_tree, runner):
    """A server's credentials Secret (its deployers replace and delete it by name) or a profile's
    database Secret named like a pull secret: one `kubectl create secret` fails, and a deployer
    could replace the namespace's pull secret. Each list is checked against the namespaces it serves."""
    catalog = CATALOG_YAML.replace("categories:", "toolhive:\n  image_pull_secrets: [pull, fetch-secrets, sandbox-db]\ncategories:")
    catalog = catalog.replace("      tiers: [validated]", "      tiers: [validated]\n    image_pull_secrets: [pull, production-pgpass, sandbox-db]")
    credentials = "env:\n  - name: TOKEN\n    description: Token.\n    secret: true\n"
    source = write_tree({"fetch.yaml": FETCH_YAML + credentials, "fetch.md": "x"}, catalog=catalog)
    code, out = validate(runner, source)
    assert code == 1
    assert out.strip().splitlines() == [
        f"{source}/catalog.yaml:7: toolhive.image_pull_secrets[1]: 'fetch-secrets' is also the Secret of server fetch's "
        "credentials, which its deployers create, replace and delete: give the pull secret another name",
        f"{source}/catalog.yaml:7: toolhive.image_pull_secrets[2]: 'sandbox-db' is also the Secret of registry profile "
        "sandbox's database passwords: give the pull secret another name",
        f"{source}/catalog.yaml:18: registries[0].image_pull_secrets[1]: 'production-pgpass' is also the Secret of registry "
        "profile production's database passwords: give the pull secret another name",
        "validation failed: 3 error(s), 0 warning(s)",
    ]


def with_cluster_dns(setting: str) -> str:
    """The test catalog with `setting` (lines indented for the mapping) as its `toolhive.cluster_dns`."""
    return CATALOG_YAML.replace("categories:", f"toolhive:\n  cluster_dns:\n    {setting}\ncategories:")


def test_the_cluster_dns_is_checked_as_kubernetes_would(write_tree, runner):
    """`toolhive.cluster_dns` becomes every pod's DNS egress: namespace, label keys and values, CIDRs and
    ports are refused as the API server or `ipaddress` would refuse them, each on its line, all at once."""
    source = write_tree(catalog=with_cluster_dns(
        "pods:\n      namespace: Kube_System\n      labels: {'bad key!': x, k8s-app: '-dns', example.com/tier: dns}\n"
        "    cidrs: [169.254.20.10, 10.0.0.1/8, not-an-address]\n    ports: [53, 0, 70000]"))
    code, out = validate(runner, source)
    assert code == 1
    assert out.strip().splitlines() == [
        f"{source}/catalog.yaml:9: toolhive.cluster_dns.pods.namespace: must be a DNS-1123 label: lower-case letters, "
        "digits and '-', starting and ending with a letter or digit, at most 63 characters",
        f"{source}/catalog.yaml:10: toolhive.cluster_dns.pods.labels: key 'bad key!' is not a Kubernetes label key (an "
        "optional DNS subdomain and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter "
        "or digit); value '-dns' of 'k8s-app' is not a Kubernetes label value (at most 63 letters, digits, '-', '_' or '.', "
        "starting and ending with a letter or digit)",
        f"{source}/catalog.yaml:11: toolhive.cluster_dns.cidrs[1]: '10.0.0.1/8' has host bits set: write the block as 10.0.0.0/8",
        f"{source}/catalog.yaml:11: toolhive.cluster_dns.cidrs[2]: 'not-an-address' is not an IP address or CIDR block "
        "(e.g. 169.254.20.10 or 10.96.0.0/12)",
        f"{source}/catalog.yaml:12: toolhive.cluster_dns.ports[1]: input should be greater than or equal to 1",
        f"{source}/catalog.yaml:12: toolhive.cluster_dns.ports[2]: input should be less than or equal to 65535",
        "validation failed: 6 error(s), 0 warning(s)",
    ]


@pytest.mark.parametrize(("dns", "line", "field", "message"), [
    ("pods: null", 7, "toolhive.cluster_dns", "names no DNS server: give `pods` or `cidrs`, or no pod could resolve a name"),
    ("pods:\n      labels: {}", 9, "toolhive.cluster_dns.pods.labels",
     "must name at least one label: an empty set picks every pod of the namespace"),
    ("ports: []", 8, "toolhive.cluster_dns.ports", "list should have at least 1 item after validation, not 0"),
])
def test_a_cluster_dns_that_reaches_no_dns_or_every_pod_is_refused(write_tree, runner, dns, line, field, message):
    """No peer would make the rule reach every address; an empty label set would pick every pod of the namespace."""
    source = write_tree(catalog=with_cluster_dns(dns))
    code, out = validate(runner, source)
    assert code == 1
    assert out.strip().splitlines() == [f"{source}/catalog.yaml:{line}: {field}: {message}", "validation failed: 1 error(s), 0 warning(s)"]


def test_a_cluster_dns_of_addresses_passes_in_canonical_form(write_tree):
    from generator.source.validate import read_catalog

    source = write_tree(catalog=with_cluster_dns("pods: null\n    cidrs: [169.254.20.10, 'fd00:10::a', 10.96.0.0/255.240.0.0, 'fd00:0:0::/48']"))
    setting = read_catalog(source).catalog.meta.toolhive.cluster_dns
    assert setting.pods is None and setting.ports == [53]
    assert setting.cidrs == ["169.254.20.10/32", "fd00:10::a/128", "10.96.0.0/12", "fd00::/48"]


def test_a_cluster_dns_block_of_public_addresses_is_warned_about(write_tree, runner):
    """A block beyond the private, shared and link-local ranges (0.0.0.0/0 at worst) reopens DNS to
    servers outside the cluster: a warning, an error under --strict; the cluster's own ranges pass."""
    source = write_tree(catalog=with_cluster_dns("cidrs: [169.254.20.10, 10.96.0.10, 'fd00::a', 0.0.0.0/0, '2001:db8::/32']"))
    assert_dns_warnings(runner, source, [
        f"{source}/catalog.yaml:8: toolhive.cluster_dns.cidrs[{index}]: warning: {block} holds addresses outside the private, "
        "shared and link-local ranges: every pod may send DNS to them; name the resolver's own addresses"
        for index, block in ((3, "0.0.0.0/0"), (4, "2001:db8::/32"))
    ])


def assert_dns_warnings(runner, source: Path, expected: list[str]) -> None:
    """`validate --verbose` passes with exactly `expected` as its cluster_dns lines; `--strict` fails with them as errors."""
    code, out = validate(runner, source, "--verbose")
    assert code == 0, out
    assert [line for line in out.splitlines() if "cluster_dns" in line] == expected
    code, out = validate(runner, source, "--strict")
    assert code == 1 and out.strip().splitlines()[-1].startswith(f"validation failed: {len(expected)} error(s)")


@pytest.mark.parametrize(("catalog", "where", "namespace", "profile"), [
    (with_cluster_dns("pods:\n      namespace: mcp-sandbox"), "9: toolhive.cluster_dns.pods.namespace", "mcp-sandbox", "sandbox"),
    (CATALOG_YAML.replace("namespace: mcp-prod", "namespace: kube-system"), "13: registries[0].namespace", "kube-system", "production"),
])
def test_the_dns_pods_may_not_be_in_a_profile_namespace(write_tree, runner, catalog, where, namespace, profile):
    """DNS pods looked for in a profile's namespace: its proxy runners could label MCP pods like them
    and receive every pod's DNS, and real DNS pods there would be cut off by its default-deny ingress.
    Refused on the DNS namespace line, or on the profile's when the default (kube-system) is meant."""
    source = write_tree(catalog=catalog)
    code, out = validate(runner, source)
    assert code == 1
    assert out.strip().splitlines() == [
        f"{source}/catalog.yaml:{where}: '{namespace}' is registry profile {profile}'s namespace: its MCP pods could be "
        "labelled like the DNS pods and receive every pod's DNS, and DNS pods there would be cut off by the profile's "
        "default-deny ingress; name the namespace the cluster's DNS runs in",
        "validation failed: 1 error(s), 0 warning(s)",
    ]


def test_a_wide_private_cluster_dns_block_is_warned_about(write_tree, runner):
    """A private block of more than 256 addresses (IPv4 shorter than /24, IPv6 shorter than /120):
    ipBlock matches pod IPs in common network plugins, so every pod could reach any pod or host of
    it on the DNS ports. A warning, an error under --strict; /24, /120 and single addresses pass."""
    source = write_tree(catalog=with_cluster_dns(
        "cidrs: [169.254.20.10, 10.96.0.0/24, 'fd00::/120', 10.0.0.0/8, 10.96.0.0/23, 'fd00::/119']"))
    assert_dns_warnings(runner, source, [
        f"{source}/catalog.yaml:8: toolhive.cluster_dns.cidrs[{index}]: warning: {block} holds {count} addresses: ipBlock "
        "also matches pod IPs in common network plugins, so every pod could reach any pod or host of the block on the "
        "DNS ports; name the DNS Service's address or NodeLocal DNSCache's /32 (e.g. 169.254.20.10)"
        for index, block, count in ((3, "10.0.0.0/8", 16777216), (4, "10.96.0.0/23", 512), (5, "fd00::/119", 512))
    ])


def with_registry_auth(setting: str) -> str:
    """The test catalog with `setting` (lines indented for the mapping) as its `toolhive.registry_auth`."""
    return CATALOG_YAML.replace("categories:", f"toolhive:\n  registry_auth:\n    {setting}\ncategories:")


@pytest.mark.parametrize(("issuer", "message"), [
    ("http://kubernetes.default.svc", "'http://kubernetes.default.svc' is not an https URL with a host: the registry server "
     "refuses any other issuer; `kubectl get --raw /.well-known/openid-configuration` shows the cluster's"),
    ("'https:///x'", "'https:///x' is not an https URL with a host: the registry server refuses any other issuer; "
     "`kubectl get --raw /.well-known/openid-configuration` shows the cluster's"),
    ("kubernetes.default.svc.cluster.local", "'kubernetes.default.svc.cluster.local' is not an https URL with a host: the "
     "registry server refuses any other issuer; `kubectl get --raw /.well-known/openid-configuration` shows the cluster's"),
    *[(value, f"'{value}' carries credentials, a query or a fragment, which no service-account issuer has: copy the issuer "
       "from `kubectl get --raw /.well-known/openid-configuration`")
      for value in ("https://admin@k8s.example", "https://k8s.example/x?a=1", "https://k8s.example/x?", "https://k8s.example/#x")],
    ("https://k8s.example:99999", "'https://k8s.example:99999' has an invalid port"),
    ("'https://k8s.example/a b'", "'https://k8s.example/a b' holds spaces, control or non-ASCII characters: copy the issuer "
     "from `kubectl get --raw /.well-known/openid-configuration`"),
    ("'https://k8s.exämple'", "'https://k8s.ex\\xe4mple' holds spaces, control or non-ASCII characters: copy the issuer "
     "from `kubectl get --raw /.well-known/openid-configuration`"),
    ("[https://k8s.example]", "must be text, not a list: write one value after `issuer:` on this line"),
])
def test_a_bad_service_account_issuer_is_refused_on_its_line(write_tree, runner, issuer, message):
    """The issuer is compared byte for byte with every token's `iss`, and the registry server refuses to
    start with one that is not an https URL: a wrong one is reported where it is written."""
    source = write_tree(catalog=with_registry_auth(f"mode: kubernetes\n    issuer: {issuer}"))
    code, out = validate(runner, source)
    assert code == 1
    assert out.strip().splitlines() == [f"{source}/catalog.yaml:9: toolhive.registry_auth.issuer: {message}",
                                        "validation failed: 1 error(s), 0 warning(s)"]


def test_another_service_account_issuer_passes_without_a_warning(write_tree, runner):
    code, out = validate(runner, write_tree(catalog=with_registry_auth("issuer: https://kubernetes.default.svc")))
    assert (code, out.strip().splitlines()[-1]) == (0, "2 servers, 2 tools, 0 warnings")


def test_registry_auth_mode_and_issuer_errors_come_together(write_tree, runner):
    source = write_tree(catalog=with_registry_auth("mode: oauth\n    issuer: http://x\n    roles: {}"))
    code, out = validate(runner, source)
    assert code == 1
    assert out.strip().splitlines() == [
        f"{source}/catalog.yaml:8: toolhive.registry_auth.mode: must be one of 'kubernetes' or 'anonymous', not 'oauth'",
        f"{source}/catalog.yaml:9: toolhive.registry_auth.issuer: 'http://x' is not an https URL with a host: the registry "
        "server refuses any other issuer; `kubectl get --raw /.well-known/openid-configuration` shows the cluster's",
        f"{source}/catalog.yaml:10: toolhive.registry_auth.roles: unknown key 'roles'; known keys: issuer, mode",
        "validation failed: 3 error(s), 0 warning(s)",
    ]


def test_an_anonymous_registry_and_a_legacy_one_are_warned_about(write_tree, runner):
    """Writes open to every pod: allowed only as a choice the catalog states, warned about (errors under --strict)."""
    catalog = with_registry_auth("mode: anonymous").replace("    namespace: mcp-sandbox\n", "    namespace: mcp-sandbox\n    operator: both\n")
    source = write_tree(catalog=catalog)
    code, out = validate(runner, source, "--verbose")
    assert code == 0, out
    assert [line for line in out.splitlines() if "warning:" in line] == [
        f"{source}/catalog.yaml:8: toolhive.registry_auth.mode: warning: anonymous: every profile's registry server takes "
        "writes (publishing entries, replacing its sources and registries) from every pod its registry-api NetworkPolicy "
        "admits, in any namespace; set `kubernetes` (the default) to let only each profile's registry-admin service account write",
        f"{source}/catalog.yaml:21: registries[1].operator: warning: both: the legacy/ MCPRegistry of operators up to v0.16 "
        "can name no authorization rule, so its registry API stays anonymous and takes writes from every pod its "
        "registry-api NetworkPolicy admits; use `current` once the cluster runs operator v0.18 or later",
    ]
    code, out = validate(runner, source, "--strict")
    assert code == 1 and out.strip().splitlines()[-1].startswith("validation failed: 2 error(s)")
