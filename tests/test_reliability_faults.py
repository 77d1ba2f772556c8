"""Reliability: every fault the operating system reports is one message, exit 1, output untouched.

Marked `reliability`. Permission faults run the build without DAC override (as root,
setpriv drops CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH: file modes apply again); read-only and full disks are real
tmpfs mounts (skipped where this machine may not mount). Each test asserts the exact message:
`Error: <what> <path>: <reason>: <what to do>`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from generator.build import build


pytestmark = pytest.mark.reliability
WITHOUT = "-dac_override,-dac_read_search"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run_build(*arguments: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`mcp-catalog build ARGUMENTS` without the capabilities that let root ignore file modes."""
    command = [sys.executable, "-m", "generator", "build", *map(str, arguments)]
    if os.geteuid() == 0:
        command = ["setpriv", f"--inh-caps={WITHOUT}", f"--bounding-set={WITHOUT}", *command]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture
def place(write_tree, tmp_path) -> Path:
    """The test folder, holding the test source as `src`."""
    write_tree()
    return tmp_path


@pytest.fixture
def mount(tmp_path) -> Iterator:
    """mount(folder, size, read_only=False): a tmpfs of `size` bytes at `folder`, unmounted afterwards."""
    mounted: list[Path] = []

    def make(folder: Path, size: int) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(folder)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield make
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def _change_source(place: Path) -> None:
    fetch = place / "src" / "servers" / "fetch.yaml"
    fetch.write_text(fetch.read_text().replace("version: 1.0.3", "version: 1.0.4"))


def test_read_only_output_file_system(place, mount):
    disk = mount(place / "disk", 64 * 2**20)
    assert run_build("--source", "src", "--out", disk / "site", cwd=place).returncode == 0
    before = snapshot(disk / "site")
    _change_source(place)
    _read_only(disk)
    result = run_build("--source", "src", "--out", disk / "site", cwd=place)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: cannot create the lock file {disk / '.site.lock'}: Read-only file system: "
        "it is on a read-only file system: choose another --out\n"
    )
    assert snapshot(disk / "site") == before


def test_output_parent_without_write_permission(place):
    assert run_build("--source", "src", "--out", place / "www" / "site", "--cache-dir", place / "cache", cwd=place).returncode == 0
    before = snapshot(place / "www" / "site")
    _change_source(place)
    (place / "www").chmod(0o555)
    result = run_build("--source", "src", "--out", place / "www" / "site", "--cache-dir", place / "cache", cwd=place)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(f"Error: cannot create a staging folder {place / 'www' / '.site.tmp-'}")
    assert result.stderr.endswith(": Permission denied: give the user running mcp-catalog access to it, or choose another --out\n")
    assert len(result.stderr.splitlines()) == 1
    assert snapshot(place / "www" / "site") == before
    assert sorted(p.name for p in (place / "www").iterdir()) == [".site.lock", "site"]


def test_read_only_subfolder_of_the_site_is_replaced_whole(place):
    out = place / "site"
    assert run_build("--source", "src", "--out", out, cwd=place).returncode == 0
    (out / "servers").chmod(0o555)
    _change_source(place)
    result = run_build("--source", "src", "--out", out, cwd=place)
    assert result.returncode == 0, result.stderr
    build(place / "src", place / "reference", cache_dir=place / "reference-cache", use_cache=False)
    assert snapshot(out) == snapshot(place / "reference")
    # The old tree, read-only folder and all, is now the spare: the next rebuild updates it.
    assert sorted(re.sub("[0-9a-f]{16}$", "*", p.name) for p in place.iterdir() if p.name.startswith((".site", "site"))) == [
        ".site.lock", ".site.spare-*", "site"
    ]
    [spare] = place.glob(".site.spare-*")
    (spare / "servers").chmod(0o555)  # the fetch page changes again: its folder comes back in a read-only one
    fetch = place / "src" / "servers" / "fetch.yaml"
    fetch.write_text(fetch.read_text().replace("version: 1.0.4", "version: 1.0.5"))
    result = run_build("--source", "src", "--out", out, cwd=place)
    assert result.returncode == 0, result.stderr
    build(place / "src", place / "reference", cache_dir=place / "reference-cache", use_cache=False)
    assert snapshot(out) == snapshot(place / "reference")


def test_full_disk(place, mount):
    disk = mount(place / "disk", 2 * 2**20)
    assert run_build("--source", "src", "--out", disk / "site", "--cache-dir", place / "cache", cwd=place).returncode == 0
    disk_space = os.statvfs(disk)
    free = disk_space.f_bavail * disk_space.f_frsize
    tree = disk_space.f_blocks * disk_space.f_frsize - free
    (disk / "filler").write_bytes(b"\0" * (free - tree // 2))  # room for half a tree more
    before = snapshot(disk / "site")
    _change_source(place)
    result = run_build("--source", "src", "--out", disk / "site", "--cache-dir", place / "cache", "--no-cache", cwd=place)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(f"Error: cannot write the output file {disk}/.site.tmp-")
    assert result.stderr.endswith(": No space left on device: free space on that disk, or choose another --out\n")
    assert len(result.stderr.splitlines()) == 1
    assert snapshot(disk / "site") == before
    assert sorted(p.name for p in disk.iterdir()) == [".site.lock", "filler", "site"]


def test_unwritable_cache_folder(place):
    cache = place / "cache"
    cache.mkdir()
    cache.chmod(0o555)
    result = run_build("--source", "src", "--out", place / "site", "--cache-dir", cache, cwd=place)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: cannot use the build cache {cache / 'lock'}: Permission denied: "
        "give the user running mcp-catalog access to it, or choose another --cache-dir\n"
    )
    assert not (place / "site").exists()


def test_read_only_cache_file_system(place, mount):
    cache = mount(place / "cache", 8 * 2**20)
    assert run_build("--source", "src", "--out", place / "site", "--cache-dir", cache, cwd=place).returncode == 0
    before = snapshot(place / "site")
    _change_source(place)
    _read_only(cache)
    result = run_build("--source", "src", "--out", place / "site", "--cache-dir", cache, cwd=place)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"Error: cannot use the build cache {cache / 'lock'}: Read-only file system: "
        "it is on a read-only file system: choose another --cache-dir\n"
    )
    assert snapshot(place / "site") == before


@pytest.mark.parametrize("unreadable", ["catalog.yaml", "servers/fetch.yaml", "servers/fetch.md", "servers"])
def test_unreadable_source_file(place, unreadable):
    assert run_build("--source", "src", "--out", place / "site", cwd=place).returncode == 0
    before = snapshot(place / "site")
    (place / "src" / unreadable).chmod(0)
    result = run_build("--source", "src", "--out", place / "site", cwd=place)
    assert (result.returncode, result.stdout) == (1, "")
    lines = result.stderr.splitlines()
    assert f"src/{unreadable}: cannot read it: Permission denied: give the user running mcp-catalog read access to it" in lines
    assert lines[-1].startswith("Error: validation failed: ") or lines[-1].startswith("validation failed: ")
    assert "Traceback" not in result.stderr
    assert snapshot(place / "site") == before
    shutil.rmtree(place / "site")


def test_verify_of_a_folder_with_an_unreadable_file_is_a_message(place):
    from generator.release.package import package_site

    build(place / "src", place / "built")
    tarball = package_site(place / "built", place / "dist", None).tarball
    with tarfile.open(tarball) as archive:
        archive.extractall(place / "unpacked", filter="data")
    (site,) = (place / "unpacked").iterdir()  # a release as unpacked, not a build's output (refused as such)
    (site / "index.html").chmod(0)
    command = [sys.executable, "-m", "generator", "verify", str(site)]
    if os.geteuid() == 0:
        command = ["setpriv", f"--inh-caps={WITHOUT}", f"--bounding-set={WITHOUT}", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error: index.html: cannot be read (Permission denied): give the user running mcp-catalog read access",
        f"{site}: NOT verified (1 problem(s))"]
    assert "Traceback" not in result.stderr
