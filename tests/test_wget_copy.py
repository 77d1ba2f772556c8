"""A copy of the whole site with `wget`, served by real nginx (and Apache) from the shipped configs.

The command is the README's, read from it: every file of the output arrives byte for byte, wget
exits 0, and `verify` accepts the copy of a served release. A crawl of the site's pages
(`wget --mirror` of its root) meets no broken link either: the card prototype's slot links are
no markup a crawler follows.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import REPO
from generator.cli import main
from webservers import PREFIX, apache_serving, nginx_serving

WGET = shutil.which("wget")
pytestmark = pytest.mark.skipif(WGET is None, reason="wget is not installed: apt-get install wget")

DOCUMENTED_SITE = "https://mcp.corp/catalog"
RELEASE_FILES = ("SIZES", "SIZES.minisig", "SHA256SUMS", "SHA256SUMS.minisig")


def readme_copy_block() -> list[str]:
    """The lines of the README's code block that copies the whole site (the one reading files.txt)."""
    blocks = re.findall(r"^```sh\n(.*?)^```", (REPO / "README.md").read_text(encoding="utf-8"), re.S | re.M)
    (block,) = [block for block in blocks if "--input-file=" in block and "files.txt" in block]
    return block.splitlines()


def readme_wget(url: str, *, release: bool) -> list[str]:
    """The README's wget command for the site at `url`; without `release`, less the line that fetches
    a release's four files, as the README says to do for a site served straight from `build`."""
    lines = readme_copy_block()
    start = next(number for number, line in enumerate(lines) if line.startswith("wget "))
    command = []
    for line in lines[start:]:
        fetches_release_files = all(f"{DOCUMENTED_SITE}/{name}" in line.split() for name in RELEASE_FILES)
        if release or not fetches_release_files:
            command.append(line.removesuffix("\\"))
        if not line.endswith("\\"):
            break
    assert command[0].startswith("wget "), lines
    words = shlex.split(" ".join(command).replace(DOCUMENTED_SITE, url))
    return [WGET or "wget", *words[1:]]


def readme_verify() -> list[str]:
    """The README's `mcp-catalog verify` line after the copy, as the CLI's arguments (run in the copy)."""
    (line,) = [line for line in readme_copy_block() if line.startswith("mcp-catalog verify ")]
    return shlex.split(line, comments=True)[1:]


def files(folder: Path) -> dict[str, bytes]:
    return {path.relative_to(folder).as_posix(): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def copied(command: list[str], into: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, bytes]]:
    into.mkdir()
    result = subprocess.run(command, cwd=into, capture_output=True, text=True, timeout=300)
    return result, files(into)


@pytest.fixture(scope="module")
def served_release(default_site: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The default site packaged with a key and unpacked, as the far side of the air gap serves it:
    (the unpacked folder, the public key)."""
    from generator.release.minisign import generate_keypair
    from generator.release.package import package_site

    folder = tmp_path_factory.mktemp("release")
    generate_keypair(folder / "release")
    made = package_site(default_site, folder / "dist", folder / "release.key")
    unpacked = folder / "far-side"
    unpacked.mkdir()
    with tarfile.open(made.tarball) as archive:
        archive.extractall(unpacked, filter="data")
    (site,) = unpacked.iterdir()
    site.chmod(0o755)
    return site, folder / "release.pub"


def test_the_readme_command_copies_a_served_release_that_verify_accepts(
    served_release: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, pubkey = served_release
    assert PREFIX == "/catalog", "the README's --cut-dirs=1 is for a site at /catalog/"
    with nginx_serving(site, tmp_path / "nginx") as url:
        result, copy = copied(readme_wget(url, release=True), tmp_path / "copy")
    assert result.returncode == 0, result.stderr[-3000:]
    released = files(site)
    assert sorted(copy) == sorted(released)
    assert [path for path in released if copy[path] != released[path]] == []
    # The key where the README's line finds it from the copy: the copy's folder itself is the release.
    (tmp_path / "release.pub").write_bytes(pubkey.read_bytes())
    monkeypatch.chdir(tmp_path / "copy")
    verified = CliRunner().invoke(main, readme_verify())
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize(("build", "server"), [("default_site", "nginx"), ("default_site", "apache"), ("plain_site", "nginx")])
def test_the_readme_command_copies_every_file_of_a_build(
    request: pytest.FixtureRequest, build: str, server: str, tmp_path: Path
) -> None:
    """A site served straight from `build` (no release files), in each hosting mode."""
    site: Path = request.getfixturevalue(build)
    serving = nginx_serving if server == "nginx" else apache_serving
    (tmp_path / server).mkdir()
    with serving(site, tmp_path / server) as url:
        result, copy = copied(readme_wget(url, release=False), tmp_path / "copy")
    assert result.returncode == 0, result.stderr[-3000:]
    built = files(site)
    assert sorted(copy) == sorted(built)
    assert [path for path in built if copy[path] != built[path]] == []


def test_a_crawl_of_the_site_meets_no_broken_link(default_site: Path, tmp_path: Path) -> None:
    """`wget --mirror` of the root (what an administrator tries first) ends with exit status 0: the
    card prototype search.js fills holds its slot links (`⟦page⟧`) as text, not as links to a 404."""
    with nginx_serving(default_site, tmp_path / "nginx") as url:
        result, copy = copied([WGET or "wget", "--mirror", "--no-host-directories", f"--cut-dirs={PREFIX.count('/')}",
                               "-e", "robots=off", "--no-verbose", f"{url}/"], tmp_path / "crawl")
    log = result.stderr.splitlines()
    assert result.returncode == 0, [f"{before} {line}" for before, line in zip(log, log[1:]) if "ERROR" in line]
    built = files(default_site)
    assert [path for path in copy if built.get(path) != copy[path]] == []
    assert "index.html" in copy and "servers/fetch/index.html" in copy
