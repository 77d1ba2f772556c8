"""`mcp-catalog import` is all or nothing: a failed run leaves the source as it was, a killed one a valid source.

Failures are real ones: a folder standing where a file goes, a file where the `servers` folder
goes, and a file size limit (RLIMIT_FSIZE, which binds root too) that fails a write part-way
("File too large", as a full disk does) or, with SIGXFSZ at its default, kills the process in
the middle of writing a file.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import pytest

from generator.cli import main
from generator.source.validate import read_catalog

ROOT = Path(__file__).resolve().parent.parent
LONG = "Keeps the zeta records of every team and answers questions about them.\n\nA second paragraph for the overview."
# A run that writes catalog.yaml (a new category), three updated server files, and a new server
# whose overview and server file come last; zeta's server file is large (400 tool names).
UPDATE = ("--update", "--category", "extra")
SIZE_LIMIT = 8_000  # above every file of the run but zeta's server file


def _entry(name: str, version: str, tools: list[str], description: str = "Answers questions.") -> dict[str, Any]:
    image = f"ghcr.io/acme/{name}:{version}"
    block = {"status": "Active", "tools": tools}
    return {"name": f"io.github.acme/{name}", "description": description, "version": version,
            "packages": [{"registryType": "oci", "identifier": image, "transport": {"type": "stdio"}}],
            "_meta": {"io.modelcontextprotocol.registry/publisher-provided": {"io.github.stacklok": {image: block}}}}


def _upstream(tmp_path: Path, version: str, with_zeta: bool) -> Path:
    entries = [_entry(name, version, ["lookup"]) for name in ("alpha", "beta", "gamma")]
    if with_zeta:
        entries.append(_entry("zeta", version, [f"tool_number_{i}_of_the_zeta_server" for i in range(400)], LONG))
    path = tmp_path / f"upstream-{version}-{with_zeta}.json"
    path.write_text(json.dumps(entries))
    return path


def _tree(folder: Path) -> dict[str, bytes | None]:
    """Every entry below `folder`: a file's bytes, None for a folder."""
    found: dict[str, bytes | None] = {}
    for top, folders, files in os.walk(folder):
        for name in folders:
            found[os.path.relpath(os.path.join(top, name), folder)] = None
        for name in files:
            found[os.path.relpath(os.path.join(top, name), folder)] = Path(top, name).read_bytes()
    return found


def _leftovers(folder: Path) -> list[str]:
    return sorted(path for path, content in _tree(folder).items() if path.endswith(".import-tmp") and content is not None)


@pytest.fixture
def imported(runner, tmp_path: Path) -> Path:
    """A source made by a first import (alpha, beta, gamma at version 1.0.0)."""
    src = tmp_path / "src"
    result = runner.invoke(main, ["import", str(_upstream(tmp_path, "1.0.0", False)), "--into", str(src)])
    assert result.exit_code == 0, result.output
    return src


@pytest.fixture
def finished(runner, tmp_path: Path) -> dict[str, bytes | None]:
    """The tree the update run gives when nothing stops it."""
    ref = tmp_path / "ref"
    for upstream, extra in ((_upstream(tmp_path, "1.0.0", False), ()), (_upstream(tmp_path, "2.0.0", True), UPDATE)):
        result = runner.invoke(main, ["import", str(upstream), "--into", str(ref), *extra])
        assert result.exit_code == 0, result.output
    return _tree(ref)


def _run(args: list[str], script: str, size_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """`mcp-catalog import` in a process of its own, `script` run first (it may set a hook)."""
    def limit() -> None:
        if size_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (size_limit, size_limit))
    code = f"import sys\n{script}\nfrom generator.cli import main\nmain(sys.argv[1:], prog_name='mcp-catalog')\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", code, "import", *args], env=env, preexec_fn=limit,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("failure", ["folder at the final path", "folder at the temporary path", "file too large"])
def test_a_failure_at_the_last_file_changes_nothing_and_says_why(runner, tmp_path, imported, failure):
    """The import wrote catalog.yaml and each server file in turn: a failure at the last one left
    the new category, the updated servers and zeta's overview written, with a traceback."""
    servers = imported / "servers"
    blocker = {"folder at the final path": servers / "zeta.yaml",
               "folder at the temporary path": servers / ".zeta.yaml.import-tmp"}.get(failure)
    if blocker:
        blocker.mkdir()
    before = _tree(imported)
    args = [str(_upstream(tmp_path, "2.0.0", True)), "--into", str(imported), *UPDATE]
    if failure == "file too large":
        done = _run(args, "import signal; signal.signal(signal.SIGXFSZ, signal.SIG_IGN)", SIZE_LIMIT)
        code, output = done.returncode, done.stdout + done.stderr
    else:
        result = runner.invoke(main, ["import", *args])
        code, output = result.exit_code, result.output
    assert code == 1, output
    reason = {
        "folder at the final path": f"{servers}/zeta.yaml: a folder stands where the import writes this file: "
                                    "move it away, then import again",
        "folder at the temporary path": f"{servers}/.zeta.yaml.import-tmp: cannot write it: something that is not "
                                        "the import's stands there: move it away, then import again",
        "file too large": f"{servers}/.zeta.yaml.import-tmp: cannot write it: File too large: a limit on the "
                          "size of one file (`ulimit -f`, the file system's) refuses it: lift it, or import into another folder",
    }[failure]
    assert output == f"Error: {reason}\nnothing imported: {imported} is as it was\n"
    assert _tree(imported) == before
    assert _leftovers(imported) == []


def test_a_file_where_the_servers_folder_goes_is_reported_before_anything_is_written(runner, tmp_path, imported):
    for path in (imported / "servers").iterdir():
        path.unlink()
    (imported / "servers").rmdir()
    (imported / "servers").write_text("not a folder")
    before = _tree(imported)
    result = runner.invoke(main, ["import", str(_upstream(tmp_path, "2.0.0", True)), "--into", str(imported), *UPDATE])
    assert result.exit_code == 1, result.output
    assert result.output == (f"Error: {imported}/servers: not a folder, and the import writes files into it: "
                             f"move it away, then import again\nnothing imported: {imported} is as it was\n")
    assert _tree(imported) == before


def test_a_kill_in_the_middle_of_a_write_leaves_the_source_and_the_next_run_finishes(runner, tmp_path, imported, finished):
    """Killed while writing zeta's server file (SIGXFSZ at the size limit), the import left the
    new category and updated servers in place and zeta.yaml cut short: a source validate refuses."""
    before = _tree(imported)
    args = [str(_upstream(tmp_path, "2.0.0", True)), "--into", str(imported), *UPDATE]
    done = _run(args, "import signal; signal.signal(signal.SIGXFSZ, signal.SIG_DFL)", SIZE_LIMIT)
    assert done.returncode == -signal.SIGXFSZ, done.stdout + done.stderr
    left = _leftovers(imported)
    assert {k: v for k, v in _tree(imported).items() if k not in left} == before
    assert [s.name for s in read_catalog(imported).catalog.servers] == ["alpha", "beta", "gamma"]
    assert left == [".catalog.yaml.import-tmp", "servers/.alpha.yaml.import-tmp", "servers/.beta.yaml.import-tmp",
                    "servers/.gamma.yaml.import-tmp", "servers/.zeta.md.import-tmp", "servers/.zeta.yaml.import-tmp"]

    result = runner.invoke(main, ["import", *args])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"removed 6 temporary file(s) an interrupted import left in {imported}\n")
    assert _tree(imported) == finished


@pytest.mark.parametrize("new_folder", [True, False], ids=["into a new folder", "update"])
@pytest.mark.parametrize("kill_at", range(7))
def test_a_kill_between_any_two_renames_leaves_a_valid_source_that_the_same_run_completes(
        runner, tmp_path, imported, finished, new_folder, kill_at):
    """Files are put in place catalog.yaml first, each overview before its server file (see
    `run._new_files`): whichever rename a kill falls before, the source validates, and running the
    same import again gives what an uninterrupted run gives."""
    if new_folder:
        target, upstream, extra = tmp_path / "new", _upstream(tmp_path, "1.0.0", False), ()
        expected = _tree(imported)  # 2 schemas, catalog.yaml, alpha, beta, gamma: 6 renames
    else:
        target, upstream, extra = imported, _upstream(tmp_path, "2.0.0", True), UPDATE
        expected = finished  # catalog.yaml, alpha, beta, gamma, zeta.md, zeta.yaml: 6 renames
    hook = (f"import os, signal\nfrom generator.importers import write\nrenamed = []\n"
            f"def _rename(temporary, target, rename=write._rename):\n"
            f"    if len(renamed) == {kill_at}:\n"
            f"        os.kill(os.getpid(), signal.SIGKILL)\n"
            f"    renamed.append(target)\n"
            f"    rename(temporary, target)\n"
            f"write._rename = _rename")
    args = [str(upstream), "--into", str(target), *extra]
    done = _run(args, hook)
    if kill_at == 6:  # past the last rename: the run ends normally
        assert done.returncode == 0, done.stdout + done.stderr
        assert _tree(target) == expected
        return
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr
    assert _leftovers(target)
    if new_folder and kill_at <= 2:  # the schemas, then catalog.yaml: until it is there, no source yet
        assert not (target / "catalog.yaml").exists()
    else:
        read_catalog(target)
    result = runner.invoke(main, ["import", *args])
    assert result.exit_code == 0, result.output
    assert _leftovers(target) == []
    assert _tree(target) == expected


def test_a_symbolic_link_loop_where_the_servers_folder_goes_is_reported_without_a_traceback(runner, tmp_path, imported):
    """A link that points to itself where the servers folder goes: stat says ELOOP, which the
    target check let through as a traceback (no `path: message`)."""
    link = imported / "servers"
    for path in link.iterdir():
        path.unlink()
    link.rmdir()
    link.symlink_to(link.name)
    before = _tree_with_links(imported)
    result = runner.invoke(main, ["import", str(_upstream(tmp_path, "2.0.0", True)), "--into", str(imported), *UPDATE])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.output == (f"Error: {link}: cannot look at it: Too many levels of symbolic links: "
                             f"move it away, then import again\nnothing imported: {imported} is as it was\n")
    assert _tree_with_links(imported) == before


def _tree_with_links(folder: Path) -> dict[str, bytes | str | None]:
    """`_tree`, a symbolic link given as the text it holds."""
    found: dict[str, bytes | str | None] = {}
    for top, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(top, name)
            relative = os.path.relpath(path, folder)
            found[relative] = os.readlink(path) if path.is_symlink() else None if name in folders else path.read_bytes()
    return found


@pytest.fixture
def unwritable_servers(imported: Path) -> Iterator[Path]:
    """`imported` whose servers folder refuses new files: mode 0555, or for root (whom modes do not
    stop) the immutable attribute (EPERM); skipped where neither can be set."""
    servers = imported / "servers"
    servers.chmod(0o555)
    immutable = False
    try:
        if os.access(servers, os.W_OK):
            immutable = subprocess.run(["chattr", "+i", str(servers)], capture_output=True).returncode == 0
            if not immutable:
                pytest.skip("cannot make a folder refuse new files here")
        yield servers
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(servers)], check=True)
        servers.chmod(0o755)


def test_a_servers_folder_refusing_new_files_is_one_problem_not_one_per_file(runner, tmp_path, imported, unwritable_servers):
    """Each server file's temporary met the same refusal of its folder: one line per server (10,000
    at 10,000 servers) said one thing. The folder is named once; catalog.yaml's folder is fine."""
    before = _tree(imported)
    result = runner.invoke(main, ["import", str(_upstream(tmp_path, "2.0.0", True)), "--into", str(imported), *UPDATE])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert len(lines) == 2 and lines[1] == f"nothing imported: {imported} is as it was", result.output
    assert lines[0].startswith(f"Error: {unwritable_servers}: cannot write files into it: "), result.output
    assert lines[0].endswith(": give the user running mcp-catalog access to it, or import into another folder"), result.output
    assert _tree(imported) == before and _leftovers(imported) == []


def test_a_dry_run_reports_a_target_the_import_could_not_replace(runner, tmp_path, imported):
    """--dry-run said "1 would import, 3 would update" and exit 0 where the same run without it
    stops before writing anything: the target checks write nothing, so the dry run makes them too."""
    (imported / "servers" / "zeta.yaml").mkdir()
    before = _tree(imported)
    args = ["import", str(_upstream(tmp_path, "2.0.0", True)), "--into", str(imported), *UPDATE]
    dry = runner.invoke(main, [*args, "--dry-run"])
    real = runner.invoke(main, args)
    assert real.exit_code == 1 and dry.exit_code == 1, dry.output
    assert dry.output == real.output == (f"Error: {imported}/servers/zeta.yaml: a folder stands where the import writes "
                                         f"this file: move it away, then import again\nnothing imported: {imported} is as it was\n")
    assert _tree(imported) == before
