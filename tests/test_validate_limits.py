"""Limits of the outputs (a server's registry `_meta`, a profile's admission policies) are source
problems: `validate` and `build` report them with every other one, at the line of the field."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from generator.cli import main
from tests.conftest import CATALOG_YAML, FETCH_YAML

LIMITED = CATALOG_YAML.replace("categories:", "toolhive:\n  max_meta_size: 8192\ncategories:")
SHARERS = 30


def _big(name: str) -> str:
    """A server whose `_meta` passes 8192 bytes: five tools of 2,000-character descriptions."""
    tools = "".join(f"  - name: tool_{n}\n    description: {'x' * 2000}\n" for n in range(5))
    return f"""\
name: {name}
title: {name.title()}
description: Carries long tool descriptions.
version: 1.0.0
category: web
tier: community
transport: stdio
image: ghcr.io/example/{name}:1.0.0
digest: sha256:{'1' * 64}
tools:
{tools}"""


def _sharer(index: int) -> str:
    """One of the servers sharing an image with long arguments: together their shapes pass CEL's parser limit."""
    return f"""\
name: runner-{index:02}
title: Runner {index}
description: Runs one package on the shared runner image.
version: 1.0.0
category: data
tier: community
transport: stdio
image: ghcr.io/example/runner:1.0.0
digest: sha256:{'2' * 64}
args: [--package, "@corp/runner-{index:02}", --options, {', '.join(['"' + c * 900 + '"' for c in 'vwxyz'])}]
tools:
  - name: run
    description: Run it.
"""


def _source(write_tree) -> Path:
    servers = {"fetch.yaml": FETCH_YAML, "big-one.yaml": _big("big-one"), "big-two.yaml": _big("big-two")}
    servers |= {f"runner-{index:02}.yaml": _sharer(index) for index in range(SHARERS)}
    servers |= {f"{Path(name).stem}.md": "## Overview\n" for name in servers}
    return write_tree(servers, catalog=LIMITED)


def _assert_three_problems(output: str, source: Path) -> None:
    errors = [line for line in output.splitlines() if ": warning: " not in line and re.match(r"^\S+:\d+: ", line)]
    servers = source / "servers"
    assert len(errors) == 3, output
    assert errors[0].startswith(f"{source / 'catalog.yaml'}:18: registries[1]: registry profile 'sandbox': its admission "
                                "policy would hold "), output
    assert f"{SHARERS} servers share the image or URL ghcr.io/example/runner:1.0.0@sha256:" in errors[0]
    for line, name in zip(errors[1:], ("big-one", "big-two")):
        assert line.startswith(f"{servers / name}.yaml:10: tools: the publisher-provided _meta of '{name}' is "), output
        assert "more than the registry server's maxMetaSize of 8192 bytes (toolhive.max_meta_size in catalog.yaml)" in line
    assert "Traceback" not in output and "validation failed: 3 error(s)" in output


def test_validate_reports_every_output_limit_at_once(write_tree, runner: CliRunner) -> None:
    source = _source(write_tree)
    result = runner.invoke(main, ["validate", "--source", str(source)])
    assert result.exit_code == 1, result.output
    _assert_three_problems(result.output, source)


def test_build_reports_every_output_limit_at_once_and_keeps_the_previous_output(write_tree, runner: CliRunner) -> None:
    source = _source(write_tree)
    out = source.parent / "site"
    good = source.parent / "good"
    good.mkdir()
    (good / "servers").mkdir()
    (good / "catalog.yaml").write_text(CATALOG_YAML)
    (good / "servers" / "fetch.yaml").write_text(FETCH_YAML)
    first = runner.invoke(main, ["build", "--source", str(good), "--out", str(out), "--jobs", "1", "-q"])
    assert first.exit_code == 0, first.output
    before = {path.relative_to(out): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()}
    result = runner.invoke(main, ["build", "--source", str(source), "--out", str(out), "--jobs", "1", "-q"])
    assert result.exit_code == 1, result.output
    _assert_three_problems(result.output, source)
    assert {path.relative_to(out): path.read_bytes() for path in sorted(out.rglob("*")) if path.is_file()} == before


def _medium(name: str) -> str:
    """A server whose `_meta` lies between 2048 and 8192 bytes: one tool of a 2,000-character description."""
    return _big(name).split("  - name: tool_1\n")[0]


def _files(folder: Path) -> dict[Path, bytes]:
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _first_cached_build(runner: CliRunner, source: Path, out: Path) -> tuple[list[str], dict[Path, bytes]]:
    """The command line of a cached build of `source` into `out`, run once; and the files it made."""
    build = ["build", "--source", str(source), "--out", str(out), "--cache-dir", str(out.parent / "cache"), "--jobs", "1", "-q"]
    first = runner.invoke(main, build)
    assert first.exit_code == 0, first.output
    return build, _files(out)


def _assert_rebuild_equals_uncached(runner: CliRunner, build: list[str], source: Path, out: Path) -> None:
    """The cached rebuild `build` succeeds and gives the bytes of a build of `source` without the cache."""
    fixed = runner.invoke(main, build)
    assert fixed.exit_code == 0, fixed.output
    uncached = source.parent / "uncached"
    again = runner.invoke(main, ["build", "--source", str(source), "--out", str(uncached), "--no-cache", "--jobs", "1", "-q"])
    assert again.exit_code == 0, again.output
    assert _files(out) == _files(uncached)


def test_a_cached_rebuild_reports_a_limit_one_change_brings_and_then_equals_an_uncached_build(
    write_tree, runner: CliRunner
) -> None:
    """A rebuild renders only the changed server and measures it: a server grown past the limit, or a
    limit lowered in catalog.yaml (which renders every server again), fails like `validate`, output
    untouched; the next rebuild, the source fixed, is the bytes of a build without the cache."""
    source = write_tree({"fetch.yaml": FETCH_YAML, "grows.yaml": _medium("grows")}, catalog=LIMITED)
    out = source.parent / "site"
    build, before = _first_cached_build(runner, source, out)
    grows = source / "servers" / "grows.yaml"
    grows.write_text(_big("grows"))
    grown = runner.invoke(main, build)
    assert grown.exit_code == 1, grown.output
    assert f"{grows}:10: tools: the publisher-provided _meta of 'grows' is " in grown.output
    assert "validation failed: 1 error(s)" in grown.output and "Traceback" not in grown.output
    assert _files(out) == before
    grows.write_text(_medium("grows"))
    lowered = source / "catalog.yaml"
    lowered.write_text(LIMITED.replace("max_meta_size: 8192", "max_meta_size: 2048"))
    lowered_result = runner.invoke(main, build)
    assert lowered_result.exit_code == 1, lowered_result.output
    assert f"{grows}:10: tools: the publisher-provided _meta of 'grows' is " in lowered_result.output
    assert "maxMetaSize of 2048 bytes" in lowered_result.output and "'fetch'" not in lowered_result.output
    assert _files(out) == before
    lowered.write_text(LIMITED)
    grows.write_text(_medium("grows").replace("title: Grows", "title: Grows Again"))
    _assert_rebuild_equals_uncached(runner, build, source, out)


def test_a_cached_rebuild_refuses_admission_policies_one_added_server_takes_past_the_parser_limit(
    write_tree, runner: CliRunner
) -> None:
    """The profile's policies are joined from every server's cached entry and the new one's: the
    17th server sharing the image takes the shared shapes past what CEL's parser takes (16 fit),
    which fails the rebuild on the profile's line, output untouched; without it, the next rebuild is
    the bytes of a build without the cache."""
    servers = {"fetch.yaml": FETCH_YAML, **{f"runner-{index:02}.yaml": _sharer(index) for index in range(16)}}
    source = write_tree(servers, catalog=LIMITED)
    out = source.parent / "site"
    build, before = _first_cached_build(runner, source, out)
    added = source / "servers" / "runner-16.yaml"
    added.write_text(_sharer(16))
    result = runner.invoke(main, build)
    assert result.exit_code == 1, result.output
    assert (f"{source / 'catalog.yaml'}:18: registries[1]: registry profile 'sandbox': its admission policy would hold "
            in result.output), result.output
    assert "validation failed: 1 error(s)" in result.output and "Traceback" not in result.output
    assert _files(out) == before
    added.unlink()
    (source / "servers" / "runner-00.yaml").write_text(_sharer(0).replace("title: Runner 0", "title: Runner Zero"))
    _assert_rebuild_equals_uncached(runner, build, source, out)


def test_a_build_whose_source_fails_anyway_reports_the_limits_with_the_other_problems(write_tree, runner: CliRunner) -> None:
    """A build measures a clean source while it renders; a source with other problems never renders,
    so its limits are measured as it is read, and reported with the rest."""
    stray = FETCH_YAML.replace("name: fetch\n", "name: stray\n").replace("category: web", "category: nowhere")
    source = write_tree({"fetch.yaml": FETCH_YAML, "big-one.yaml": _big("big-one"), "stray.yaml": stray}, catalog=LIMITED)
    result = runner.invoke(main, ["build", "--source", str(source), "--out", str(source.parent / "site"), "--jobs", "1", "-q"])
    assert result.exit_code == 1, result.output
    assert f"{source / 'servers' / 'big-one.yaml'}:10: tools: the publisher-provided _meta of 'big-one' is " in result.output
    assert "unknown category 'nowhere'" in result.output and "validation failed: 2 error(s)" in result.output


def test_a_build_refuses_admission_policies_the_api_server_could_not_parse_alone(write_tree, runner: CliRunner) -> None:
    """No server's `_meta` is over the limit: the bundles, planning the profile's policies, meet the
    parser's limit, and the build reports it on the profile's line."""
    servers = {"fetch.yaml": FETCH_YAML, **{f"runner-{index:02}.yaml": _sharer(index) for index in range(SHARERS)}}
    source = write_tree(servers, catalog=LIMITED)
    result = runner.invoke(main, ["build", "--source", str(source), "--out", str(source.parent / "site"), "--jobs", "1", "-q"])
    assert result.exit_code == 1, result.output
    assert (f"{source / 'catalog.yaml'}:18: registries[1]: registry profile 'sandbox': its admission policy would hold "
            in result.output), result.output
    assert "validation failed: 1 error(s)" in result.output and not (source.parent / "site").exists()
