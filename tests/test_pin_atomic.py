"""`mcp-catalog pin` is all or nothing: a failed run leaves the source as it was, and says why.

pin wrote each server file, then catalog.yaml, in place: a full disk cut the file being written short
and stopped with a traceback, the files before it already changed. Failures here are real ones: a
file size limit (RLIMIT_FSIZE, which binds root too) failing a write part-way ("File too large", as a
full disk does), and a folder refusing writes (its mode, or for root the immutable attribute).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.cli import main
from generator.source.validate import read_catalog
from test_import_atomic import _tree

ROOT = Path(__file__).resolve().parent.parent
SMALL, LARGE = "genai-toolbox", "github"  # 891 and 12,092 bytes in the default catalog
SIZE_LIMIT = 8_000  # above every file the run writes but github's server file
DIGESTS = {
    SMALL: ("us-central1-docker.pkg.dev/database-toolbox/toolbox/toolbox:0.27.0", "sha256:" + "a" * 64),
    LARGE: ("ghcr.io/github/github-mcp-server:v0.30.3", "sha256:" + "b" * 64),
    "operator": ("ghcr.io/stacklok/toolhive/operator:v0.44.0", "sha256:" + "c" * 64),
}


@pytest.fixture
def digests(tmp_path: Path) -> Path:
    path = tmp_path / "digests.txt"
    path.write_text("".join(f"{digest} docker://{image}\n" for image, digest in DIGESTS.values()))
    return path


def _run_limited(source: Path, digests: Path) -> subprocess.CompletedProcess[str]:
    """`mcp-catalog pin` in a process of its own whose files may not pass SIZE_LIMIT bytes (SIGXFSZ
    ignored: the write fails with EFBIG, as on a full disk)."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (SIZE_LIMIT, SIZE_LIMIT))
    code = ("import signal, sys\nsignal.signal(signal.SIGXFSZ, signal.SIG_IGN)\nfrom generator.cli import main\n"
            "main(sys.argv[1:], prog_name='mcp-catalog')\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", code, "pin", "--source", str(source), "--digests", str(digests)],
                          env=env, preexec_fn=limit, capture_output=True, text=True, timeout=120)


def _assert_pinned(runner, source: Path, digests: Path) -> None:
    """The run that nothing stops pins all three, and the source validates with their digests."""
    result = runner.invoke(main, ["pin", "--source", str(source), "--digests", str(digests)])
    assert result.exit_code == 0, result.output
    assert "pinned 2 servers and 1 ToolHive image (toolhive.images.operator)" in result.stderr
    catalog = read_catalog(source).catalog
    assert catalog.server(SMALL).digest == DIGESTS[SMALL][1] and catalog.server(LARGE).digest == DIGESTS[LARGE][1]
    assert catalog.meta.toolhive.images.operator == f"{DIGESTS['operator'][0]}@{DIGESTS['operator'][1]}"
    assert not [name for name in _tree(source) if name.endswith(".import-tmp")]


def test_a_full_disk_changes_nothing_and_the_next_run_pins(runner, default_source_copy, digests):
    """The write of github.yaml fails part-way: its file was left cut at the limit, genai-toolbox's
    already changed, and a traceback printed."""
    before = _tree(default_source_copy)
    done = _run_limited(default_source_copy, digests)
    servers = default_source_copy / "servers"
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout == ""
    assert done.stderr == (f"Error: {servers}/.{LARGE}.yaml.import-tmp: cannot write it: File too large: a limit on the size "
                           f"of one file (`ulimit -f`, the file system's) refuses it: lift it, or pin a copy of "
                           f"the source in another folder\nnothing pinned: {default_source_copy} is as it was\n")
    assert _tree(default_source_copy) == before

    _assert_pinned(runner, default_source_copy, digests)


@pytest.fixture
def unwritable_top(default_source_copy: Path) -> Iterator[Path]:
    """The source folder and its catalog.yaml refusing writes: modes 0555 and 0444, or for root (whom
    modes do not stop) the immutable attribute; skipped where neither can be set."""
    catalog = default_source_copy / "catalog.yaml"
    paths = (default_source_copy, catalog)
    default_source_copy.chmod(0o555)
    catalog.chmod(0o444)
    immutable = False
    try:
        if os.access(catalog, os.W_OK):
            immutable = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True).returncode == 0
            if not immutable:
                pytest.skip("cannot make a folder refuse writes here")
        yield default_source_copy
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
        default_source_copy.chmod(0o755)
        catalog.chmod(0o644)


def test_a_folder_refusing_writes_changes_nothing_and_the_next_run_pins(runner, unwritable_top, digests):
    """catalog.yaml, written after the server files, could not be: the servers were pinned, the
    ToolHive image not, and a traceback printed."""
    source = unwritable_top
    before = _tree(source)
    result = runner.invoke(main, ["pin", "--source", str(source), "--digests", str(digests)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.output.splitlines()
    assert len(lines) == 2 and lines[1] == f"nothing pinned: {source} is as it was", result.output
    assert lines[0].startswith(f"Error: {source}: cannot write files into it: "), result.output
    assert lines[0].endswith(": give the user running mcp-catalog access to it, or pin a copy of the source in "
                             "another folder"), result.output
    assert _tree(source) == before

    subprocess.run(["chattr", "-i", str(source), str(source / "catalog.yaml")], capture_output=True)  # for root
    source.chmod(0o755)
    (source / "catalog.yaml").chmod(0o644)
    _assert_pinned(runner, source, digests)


def test_a_server_file_behind_a_symbolic_link_is_pinned_where_it_lies(runner, default_source_copy, digests):
    """pin wrote through a link to a server file; written whole and renamed, it must still change the
    file the link points to, not replace the link with a copy."""
    link = default_source_copy / "servers" / f"{SMALL}.yaml"
    shared = default_source_copy / "shared"
    shared.mkdir()
    link.rename(shared / link.name)
    link.symlink_to(Path("..") / "shared" / link.name)
    _assert_pinned(runner, default_source_copy, digests)
    assert link.is_symlink() and os.readlink(link) == f"../shared/{SMALL}.yaml"
    assert f"digest: {DIGESTS[SMALL][1]}\n" in (shared / link.name).read_text()


def test_a_file_the_line_edits_would_break_is_left_as_it_was(runner, default_source_copy, digests):
    """pin adds `digest:` on the line after `image:`. An image written over two lines (a folded scalar)
    took the digest line into its value's place: pin wrote every file, then found the source invalid,
    and left it so. Each edited file is now checked as pinning would leave it, before any is written."""
    github = default_source_copy / "servers" / f"{LARGE}.yaml"
    image = DIGESTS[LARGE][0]
    github.write_text(github.read_text().replace(f"image: {image}\n", f"image: >-\n  {image}\n"))
    assert read_catalog(default_source_copy).catalog.server(LARGE).image == image  # valid as written
    before = _tree(default_source_copy)
    result = runner.invoke(main, ["pin", "--source", str(default_source_copy), "--digests", str(digests)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.output.splitlines()
    # One `path:line: field: message` per problem, at the source's own path, then what to do.
    assert lines[0].startswith(f"{github}:20: image: is not a valid image reference"), result.output
    assert lines[-1].startswith("nothing pinned: 2 error(s) in the files as pinning would leave them"), result.output
    assert lines[-1].endswith("write the digest by hand"), result.output
    assert _tree(default_source_copy) == before


def test_an_image_on_the_files_last_line_without_a_line_break_is_pinned(runner, default_source_copy, digests):
    """pin adds `digest:` after the `image:` line. On a file's last line without a line break, the two
    ran together (`image: <ref>digest: sha256:...`): the check of the edited files refused it, and pin
    told the curator to write the digest by hand."""
    small = default_source_copy / "servers" / f"{SMALL}.yaml"
    image_line = f"image: {DIGESTS[SMALL][0]}\n"
    text = small.read_text()
    assert image_line in text
    small.write_text(text.replace(image_line, "") + image_line.rstrip("\n"))
    _assert_pinned(runner, default_source_copy, digests)
    assert small.read_text().endswith(f"{image_line}digest: {DIGESTS[SMALL][1]}\n")
