"""The CLI as a user meets it: build, new, schema, and the safety of the output folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from conftest import FETCH_YAML, REPO
from generator.cli import main


def test_build_writes_the_normalised_catalog(write_tree, runner, tmp_path):
    source, out = write_tree(), tmp_path / "site"
    result = runner.invoke(main, ["build", "--source", str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "built 2 servers into" in result.stderr and " s\n" in result.stderr
    files = sum(1 for path in out.rglob("*") if path.is_file())
    assert f"({files:,} files, {files / 2:.1f} per server, " in result.stderr
    document = json.loads((out / "api/v1/catalog.json").read_text())
    assert document["catalog"]["namespace"] == "com.example.test"
    assert [s["name"] for s in document["servers"]] == ["docs-remote", "fetch"]
    fetch = document["servers"][1]
    assert fetch["image"] == "ghcr.io/stackloklabs/gofetch/server:1.0.3"
    assert fetch["overview"] == "## What it does\n\nFetches.\n"
    assert fetch["tools"][0]["annotations"] == {"readOnlyHint": True, "openWorldHint": True}


def test_build_is_byte_identical_twice(write_tree, runner, tmp_path):
    source = write_tree()
    for out in ("one", "two"):
        result = runner.invoke(main, ["build", "--source", str(source), "--out", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*") if p.is_file())
    for relative in files:
        assert (tmp_path / "one" / relative).read_bytes() == (tmp_path / "two" / relative).read_bytes(), relative


def test_failed_build_leaves_previous_output_untouched(write_tree, runner, tmp_path):
    source, out = write_tree(), tmp_path / "site"
    assert runner.invoke(main, ["build", "--source", str(source), "--out", str(out)]).exit_code == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (source / "servers" / "fetch.yaml").write_text(FETCH_YAML.replace("port: 8080", "port: nope"))
    result = runner.invoke(main, ["build", "--source", str(source), "--out", str(out)])
    assert result.exit_code == 1
    assert "fetch.yaml:14: port: must be a whole number, not 'nope'" in result.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.lock", "site", "src"], "no staging folder left behind"


@pytest.mark.parametrize("where", ["source", "parent", "inside", "root", "home", "foreign"])
def test_build_refuses_dangerous_output_folders(write_tree, runner, tmp_path, where):
    source = write_tree()
    foreign = tmp_path / "documents"
    foreign.mkdir()
    (foreign / "thesis.txt").write_text("precious")
    out = {"source": source, "parent": source.parent, "inside": source / "site", "root": Path("/"),
           "home": Path.home(), "foreign": foreign}[where]
    result = runner.invoke(main, ["build", "--source", str(source), "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: refusing to write the site into") or "was not written by mcp-catalog" in result.output
    assert (foreign / "thesis.txt").read_text() == "precious"


JIRA_FILLED = {
    '"FILL-IN: display name"': "Jira",
    '"FILL-IN: one line, at most 100 characters"': "Search and update Jira issues.",
    '"FILL-IN: e.g. 1.2.0"': "1.0.0",
    '"FILL-IN: a category slug from catalog.yaml"': "data",
    '"FILL-IN: who maintains it"': "Example",
    '"FILL-IN: https://..."': "https://example.com/jira-mcp",
    '"FILL-IN: SPDX identifier, e.g. MIT"': "MIT",
    '"FILL-IN: registry/path:tag"': "registry.example.com/jira-mcp:1.0.0",
    '"FILL-IN: tool name"': "search_issues",
    '"FILL-IN: what the tool does"': "Search issues with JQL.",
}


def fill_in(path: Path, values: dict[str, str]) -> None:
    """Replace each scaffold placeholder (which must be there) by its value, as an author would."""
    text = path.read_text()
    for placeholder, value in values.items():
        assert placeholder in text
        text = text.replace(placeholder, value)
    path.write_text(text)


def test_new_scaffold_fails_until_filled_then_passes(write_tree, runner):
    source = write_tree()
    result = runner.invoke(main, ["new", "jira", "--source", str(source)])
    assert result.exit_code == 0, result.output
    path = source / "servers" / "jira.yaml"
    result = runner.invoke(main, ["validate", "--source", str(source)])
    assert result.exit_code == 1
    assert f"{path}:4: title: placeholder not filled in" in result.output
    assert f"{path}:23: tools[0].name: placeholder not filled in" in result.output
    fill_in(path, JIRA_FILLED)
    result = runner.invoke(main, ["validate", "--source", str(source)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        f"{source}/servers/jira.md:3: placeholder not filled in: describe the server for reviewers here"
    )
    (source / "servers" / "jira.md").write_text("## What it does\n\nTalks to Jira.\n")
    result = runner.invoke(main, ["validate", "--source", str(source)])
    assert result.exit_code == 0, result.output


def test_new_starts_a_catalog_in_a_folder_without_one(tmp_path, runner, monkeypatch):
    """A newcomer's first `mcp-catalog new` had no catalog.yaml to go with it, and validate said only
    "catalog.yaml: file is missing", with no word on what the file holds. Now `new` writes one to fill
    in, with the editor schemas its first lines and the server file's name, and says how to validate it."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["new", "jira", "--source", "my catalog"])
    assert result.exit_code == 0, result.output
    assert result.output == ("wrote my catalog/catalog.yaml (a new catalog) and my catalog/servers/jira.yaml: replace "
                             "every FILL-IN, then run `mcp-catalog validate --source 'my catalog'`\n")
    source = tmp_path / "my catalog"
    for kind in ("server", "catalog"):
        printed = runner.invoke(main, ["schema", "--kind", kind])
        assert (source / "schemas" / f"{kind}.schema.json").read_text() == printed.stdout
    result = runner.invoke(main, ["validate", "--source", str(source)])
    assert result.exit_code == 1
    for line, field in [(3, "title"), (4, "description"), (6, "namespace"), (8, "publisher"),
                        (10, "categories[0].slug"), (11, "categories[0].title")]:
        assert f"{source}/catalog.yaml:{line}: {field}: placeholder not filled in" in result.output
    fill_in(source / "catalog.yaml", {
        '"FILL-IN: the catalog\'s name, shown on every page"': "Example MCP catalog",
        '"FILL-IN: what the catalog is, for the about page"': "The MCP servers Example may run.",
        '"FILL-IN: reverse-DNS prefix of the servers\' MCP registry names, e.g. com.example.mcp"': "com.example.mcp",
        '"FILL-IN: the team that curates the catalog"': "Platform team",
        '"FILL-IN: a-slug"': "data",
        '"FILL-IN: its name"': "Data",
    })
    fill_in(source / "servers" / "jira.yaml", JIRA_FILLED)
    (source / "servers" / "jira.md").write_text("## What it does\n\nTalks to Jira.\n")
    result = runner.invoke(main, ["validate", "--source", str(source)])
    assert result.exit_code == 0, result.output
    second = runner.invoke(main, ["new", "wiki", "--source", "my catalog"])
    assert second.output == "wrote my catalog/servers/wiki.yaml: replace every FILL-IN, then run `mcp-catalog validate --source 'my catalog'`\n"


def test_new_into_a_folder_it_cannot_make_is_a_message(tmp_path, runner):
    """`new` under a file (or without permission) ended in a traceback from mkdir."""
    (tmp_path / "notes.txt").write_text("not a folder")
    result = runner.invoke(main, ["new", "jira", "--source", str(tmp_path / "notes.txt" / "catalog")])
    assert result.exit_code == 1
    assert result.output == f"Error: cannot write {tmp_path}/notes.txt/catalog/schemas: Not a directory: choose another --source\n"


@pytest.mark.parametrize(("name", "message"), [("fetch", "already exists"), ("../x", "is not a valid server name")])
def test_new_refuses(write_tree, runner, name, message):
    source = write_tree()
    before = (source / "servers" / "fetch.yaml").read_text()
    result = runner.invoke(main, ["new", name, "--source", str(source)])
    assert result.exit_code == 1
    assert message in result.output
    assert (source / "servers" / "fetch.yaml").read_text() == before


def test_schema_describes_the_source_and_accepts_it(write_tree, runner):
    result = runner.invoke(main, ["schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    validator.validate(yaml.safe_load(FETCH_YAML))
    errors = list(validator.iter_errors({**yaml.safe_load(FETCH_YAML), "licence": "MIT"}))
    assert [e.validator for e in errors] == ["additionalProperties"]
    assert all(prop.get("description") for prop in schema["properties"].values())


def test_shipped_schemas_are_current(runner):
    """catalog-source/schemas/ serves editors without a build; it must match the models."""
    for kind in ("server", "catalog"):
        result = runner.invoke(main, ["schema", "--kind", kind])
        assert result.exit_code == 0, result.output
        assert (REPO / "catalog-source" / "schemas" / f"{kind}.schema.json").read_text() == result.stdout, (
            f"run: mcp-catalog schema --kind {kind} > catalog-source/schemas/{kind}.schema.json"
        )


def test_python_dash_m_and_console_script_agree():
    result = subprocess.run([sys.executable, "-m", "generator", "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("mcp-catalog, version ")


def test_missing_source_folder_says_what_to_do(runner, tmp_path):
    result = runner.invoke(main, ["validate", "--source", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert f"{tmp_path / 'nope'}: source folder does not exist (pass --source DIR)" in result.output


def test_quiet_prints_nothing_on_success(write_tree, runner, tmp_path):
    result = runner.invoke(main, ["build", "-q", "--source", str(write_tree()), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    assert os.path.isfile(tmp_path / "o" / "api/v1/catalog.json")


def test_build_profile_says_where_the_time_went(write_tree, runner, tmp_path):
    result = runner.invoke(main, ["build", "--profile", "--source", str(write_tree()), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    phases = [line.split(" s  ", 1)[1] for line in result.stderr.splitlines() if " s  " in line]
    assert phases[0] == "load and validate"
    assert "render per server: site" in phases and "render catalog-wide: site" in phases
    assert "render catalog-wide: catalog_json" in phases and "read the build cache" in phases
    assert phases[-3:] == ["write indexes", "put in place", "save the build cache"]
    assert [p for p in phases if "wall clock" in p] == [
        f"render per server, wall clock, --jobs {os.cpu_count()}", f"render catalog-wide, wall clock, --jobs {os.cpu_count()}"
    ]


def test_build_counts_warnings_and_lists_them_on_request(write_tree, runner, tmp_path):
    source = write_tree({"fetch.yaml": FETCH_YAML.replace("digest: sha256:" + "0" * 63 + "1\n", ""), "fetch.md": "x"})
    result = runner.invoke(main, ["build", "--source", str(source), "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert "1 warnings: --verbose lists them)" in result.stderr
    assert "not pinned by digest" not in result.stderr
    result = runner.invoke(main, ["build", "-v", "--source", str(source), "--out", str(tmp_path / "o")])
    assert "fetch.yaml:12: image: warning: not pinned by digest" in result.stderr


def test_parallel_build_writes_the_same_bytes_as_one_job(runner, tmp_path):
    from conftest import DEFAULT_SOURCE

    trees = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs-{jobs}"
        result = runner.invoke(main, ["build", "-q", "--jobs", jobs, "--source", str(DEFAULT_SOURCE), "--out", str(out)])
        assert result.exit_code == 0, result.output
        trees[jobs] = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert len(trees["1"]) > 500
    assert trees["1"] == trees["2"]


def test_parallel_build_still_refuses_a_path_written_twice(write_tree, tmp_path, monkeypatch):
    from generator import build as pipeline
    from generator.output import OutputFile
    from generator.render.kind import OutputKind

    def clashing(context):
        yield OutputFile("index.html", b"not the site")

    monkeypatch.setattr(pipeline, "KINDS", (*pipeline.KINDS, OutputKind("clashing", clashing)))
    out = tmp_path / "site"
    from generator.errors import OutputError

    with pytest.raises(OutputError, match="two outputs want the same path index.html"):
        pipeline.build(write_tree(), out, jobs=2)
    assert not out.exists()


@pytest.mark.parametrize(
    ("template", "expected"),
    [("{% if %}", "404.html:1: template error:"), ("{{ no_such_value }}", "404.html: template error while rendering 404.html")],
)
def test_a_broken_template_override_gets_a_message(write_tree, runner, tmp_path, template, expected):
    overrides = tmp_path / "templates"
    overrides.mkdir()
    (overrides / "404.html").write_text(template)
    out = tmp_path / "site"
    result = runner.invoke(main, ["build", "-j", "1", "--source", str(write_tree()), "--out", str(out), "--templates", str(overrides)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert expected in result.output
    assert not out.exists()


def test_keygen_into_a_missing_folder_says_so(runner, tmp_path):
    result = runner.invoke(main, ["keygen", "--out", str(tmp_path / "missing" / "k")])
    assert result.exit_code == 1
    assert "is not a folder: create it first" in result.output


@pytest.mark.parametrize(("arguments", "expected"), [
    (["verify", "release.tar.gz", "--pubkey", "{tmp}/missing.pub"], "{tmp}/missing.pub: no such file (--pubkey)"),
    (["verify", "release.tar.gz", "--pubkey", "{tmp}"], "{tmp}: is a folder, not a file (--pubkey)"),
    (["package", "--site", "{tmp}/missing"], "{tmp}/missing: no such folder (--site)"),
    (["package", "--site", "{tmp}", "--key", "{tmp}/missing.key"], "{tmp}/missing.key: no such file (--key)"),
    (["pin", "--digests", "{tmp}/missing.txt"], "{tmp}/missing.txt: no such file (--digests)"),
    (["build", "--previous", "{tmp}/missing.tar.gz"], "{tmp}/missing.tar.gz: no such file or folder (--previous)"),
    (["build", "--templates", "{tmp}/missing"], "{tmp}/missing: no such folder (--templates)"),
    (["validate", "--source", "{tmp}/file.txt"], "{tmp}/file.txt: is a file, not a folder (--source)"),
    (["keygen", "--out", "{tmp}"], "{tmp}: is a folder, not a file (--out)"),
])
def test_a_missing_or_wrong_kind_of_path_is_one_line_and_exit_1(runner, tmp_path, arguments, expected):
    (tmp_path / "file.txt").write_text("")
    result = runner.invoke(main, [a.format(tmp=tmp_path) for a in arguments])
    assert result.exit_code == 1, result.output
    assert result.output == f"Error: {expected.format(tmp=tmp_path)}\n"


@pytest.mark.parametrize("command", [
    ["package", "--site", "{tmp}"],
    ["verify", "{tmp}"],
    ["keygen", "--out", "{tmp}/k"],
    ["diff", "{tmp}", "{tmp}"],
    ["schema"],
])
def test_a_command_reading_no_source_refuses_source(runner, tmp_path, command):
    """They took --source and never read it: a user passing one believed it mattered."""
    arguments = [part.format(tmp=tmp_path) for part in command]
    result = runner.invoke(main, [arguments[0], "--source", "x", *arguments[1:], "--quiet"])
    assert result.exit_code == 2, result.output
    assert (f"Error: No such option '--source': {arguments[0]} reads no catalog source (validate, build, new and pin "
            "do)\n") in result.output
    assert f"Usage: main {arguments[0]} [OPTIONS]" in result.output
    assert not (tmp_path / "k.key").exists()
    kept = runner.invoke(main, [arguments[0], "--quiet", "--verbose", "--help"])
    assert kept.exit_code == 0, kept.output


def test_new_that_fails_leaves_nothing_it_cannot_finish(tmp_path, runner):
    """catalog.yaml comes first: a failure before it leaves no server file behind, which made the same
    `new` say the file already exists while no catalog.yaml was ever written."""
    source = tmp_path / "catalog"
    source.mkdir()
    (source / "schemas").write_text("a file where the editor schemas go")
    result = runner.invoke(main, ["new", "jira", "--source", str(source)])
    assert result.exit_code == 1
    assert result.output == f"Error: cannot write {source}/schemas: File exists: choose another --source\n"
    assert sorted(path.name for path in source.iterdir()) == ["schemas"]
    (source / "schemas").unlink()
    result = runner.invoke(main, ["new", "jira", "--source", str(source)])
    assert result.exit_code == 0, result.output
    assert (source / "catalog.yaml").is_file() and (source / "servers" / "jira.yaml").is_file()


def test_new_writes_nothing_through_a_link(tmp_path, runner):
    """A dangling link where `new` writes (an editor schema, the server file) is never followed: the
    file it points to, outside the folder, is not created."""
    source, outside = tmp_path / "catalog", tmp_path / "outside"
    (source / "schemas").mkdir(parents=True)
    (source / "servers").mkdir()
    outside.mkdir()
    (source / "schemas" / "server.schema.json").symlink_to(outside / "schema.json")
    (source / "servers" / "jira.yaml").symlink_to(outside / "jira.yaml")
    result = runner.invoke(main, ["new", "jira", "--source", str(source)])
    assert result.exit_code == 1
    assert "servers/jira.yaml already exists" in result.output
    result = runner.invoke(main, ["new", "confluence", "--source", str(source)])
    assert result.exit_code == 0, result.output
    assert list(outside.iterdir()) == []
    assert (source / "schemas" / "catalog.schema.json").is_file() and (source / "servers" / "confluence.yaml").is_file()
