"""`mcp-catalog package` at scale: streamed (memory holds no site and no tarball), all files or none.

Real subprocesses measure peak memory, are killed with SIGKILL and meet a file-size limit; the
tarball is compared byte for byte with one joined the way `package` made it before it streamed.
"""

from __future__ import annotations

import hashlib
import json
import random
import resource
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from conftest import REPO
from generator.cli import main
from generator.paths import CATALOG_JSON, CHECKSUMS, SIZES
from generator.release import minisign, package
from test_archive import joined_the_old_way

MINISIGN = shutil.which("minisign")
MB = 1 << 20


def site_copy(small_site: Path, folder: Path, large: dict[str, int] | None = None, seed: int = 0) -> Path:
    """A copy of the small site with `large` files added (relative path -> MB of random bytes)."""
    site = folder / "site"
    shutil.copytree(small_site, site)
    rng = random.Random(seed)
    for relative, megabytes in (large or {}).items():
        with open(site / relative, "wb") as handle:
            for _ in range(megabytes):
                handle.write(rng.randbytes(MB))
    return site


def run_package(site: Path, out: Path, *extra: str, limit: int | None = None) -> subprocess.Popen[str]:
    """`mcp-catalog package` as its own process (with `limit`, RLIMIT_FSIZE: no file larger than that)."""
    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command = [sys.executable, "-m", "generator", "package", "--site", str(site), "--out", str(out), *extra]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=None if limit is None else limited)


# Runs the command given and prints its peak RSS in KB. A child's ru_maxrss counts the memory of the
# process it was forked (or vforked) from until exec: started from pytest, it would count pytest's.
PEAK_OF = """import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of `folder` (temporaries included) and its bytes."""
    return {entry.name: entry.read_bytes() for entry in sorted(folder.iterdir())}


def old_release(site: Path, key: minisign.SecretKey, mtime: int) -> dict[str, bytes]:
    """The four files `package` wrote before it streamed, made the way it made them: every file held."""
    info = package.release_info(site)
    root = f"{info.name}-{info.version}"
    contents = {relative: (site / relative).read_bytes() for relative in package.site_files(site)}
    sums = "".join(f"{hashlib.sha256(contents[path]).hexdigest()}  {path}\n" for path in sorted(contents)).encode()

    def signed(data: bytes, name: str) -> bytes:
        return minisign.sign(data, key, f"{info.trusted_comment} file={name}").encode()

    contents[CHECKSUMS] = sums
    contents[CHECKSUMS + ".minisig"] = signed(sums, CHECKSUMS)
    sizes = "".join(f"{len(contents[path])}  {path}\n" for path in sorted(contents)).encode()
    head = [(root, None), (f"{root}/{SIZES}", sizes), (f"{root}/{SIZES}.minisig", signed(sizes, SIZES))]
    rest, folders = [], {root}
    for path in sorted(contents, key=lambda name: name.split("/")):
        parts = f"{root}/{path}".split("/")
        for depth in range(2, len(parts)):
            if "/".join(parts[:depth]) not in folders:
                folders.add("/".join(parts[:depth]))
                rest.append(("/".join(parts[:depth]), None))
        rest.append((f"{root}/{path}", contents[path]))
    tarball = joined_the_old_way([head, rest], mtime)
    return {f"{root}.tar.gz": tarball, f"{root}.tar.gz.minisig": signed(tarball, f"{root}.tar.gz"),
            CHECKSUMS: sums, CHECKSUMS + ".minisig": contents[CHECKSUMS + ".minisig"]}


def test_the_streamed_release_has_the_bytes_of_the_release_made_whole(runner, default_site, keys, tmp_path):
    """Reproducible across the change: the default catalog's release is byte for byte the one `package`
    made holding every file, and stock minisign, tar and `verify` accept it."""
    out = tmp_path / "dist"
    result = runner.invoke(main, ["package", "--site", str(default_site), "--out", str(out),
                                  "--key", str(keys / "release.key")])
    assert result.exit_code == 0, result.output
    mtime = package.source_date_epoch(package.release_info(default_site))
    expected = old_release(default_site, minisign.read_secret_key(keys / "release.key"), mtime)
    assert snapshot(out).keys() == expected.keys()
    for name, data in snapshot(out).items():
        assert data == expected[name], name
    (tarball,) = out.glob("*.tar.gz")
    listing = subprocess.run(["tar", "-tzf", str(tarball)], capture_output=True, text=True, check=True).stdout.split()
    assert listing[1:3] == [f"{tarball.name[:-7]}/SIZES", f"{tarball.name[:-7]}/SIZES.minisig"]
    if MINISIGN:
        for path in (tarball, out / CHECKSUMS):
            checked = subprocess.run([MINISIGN, "-Vm", str(path), "-p", str(keys / "release.pub")], capture_output=True,
                                     text=True)
            assert checked.returncode == 0, checked.stderr
    verified = runner.invoke(main, ["verify", str(tarball), "--pubkey", str(keys / "release.pub")])
    assert verified.exit_code == 0, verified.output


def test_packaging_a_site_of_large_files_holds_neither_the_site_nor_the_tarball(small_site, tmp_path):
    """300 MB of files (three of 100 MB) and a catalog document of 60 MB (as at 5,000 servers)
    package in under 150 MB: before, every file was held, then the raw tar, then the compressed one
    (over 1 GB here), and the whole catalog document was parsed for the release's name."""
    site = site_copy(small_site, tmp_path, {"api/v1/a.bin": 100, "api/v1/b.bin": 100, "c.bin": 100})
    document = json.loads((site / CATALOG_JSON).read_bytes())
    first = document["servers"][0]
    document["servers"] += [{**first, "name": f"copy-{n}"} for n in range(60 * MB // len(json.dumps(first)))]
    (site / CATALOG_JSON).write_text(json.dumps(document, separators=(",", ":")))
    command = [sys.executable, "-m", "generator", "package", "--site", str(site), "--out", str(tmp_path / "dist")]
    measured = subprocess.run([sys.executable, "-c", PEAK_OF, *command], cwd=REPO, capture_output=True, text=True)
    code, peak = map(int, measured.stdout.split())
    assert code == 0, measured.stderr
    assert peak * 1024 < 150 * MB, f"peak RSS {peak / 1024:.0f} MB for a 360 MB site"
    (tarball,) = (tmp_path / "dist").glob("*.tar.gz")
    with tarfile.open(tarball) as archive:
        assert archive.getmember(f"{tarball.name[:-7]}/c.bin").size == 100 * MB


def test_a_kill_while_packaging_leaves_the_previous_release_as_it_was(small_site, keys, tmp_path):
    """SIGKILL at a random point of writing the new tarball (a random share of its bytes written, as
    /proc counts them), or as soon as anything in --out changes, whichever comes first: the previous
    release is byte for byte what it was and nothing else is there. Before, the files were written in
    place one after the other: a kill left a new SHA256SUMS beside the old tarball, or cut one short."""
    site = site_copy(small_site, tmp_path, {"big.bin": 48})
    out = tmp_path / "dist"
    first = run_package(site, out, "--key", str(keys / "release.key"))
    assert first.wait() == 0, first.stderr.read() if first.stderr else ""
    before = snapshot(out)
    size = max(len(data) for data in before.values())
    site_copy(small_site, tmp_path / "new", {"big.bin": 48}, seed=1)
    shutil.copy(tmp_path / "new" / "site" / "big.bin", site / "big.bin")
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    for attempt in range(3):
        share = rng.uniform(0.05, 0.9)
        process = run_package(site, out, "--replace", "--key", str(keys / "release.key"))
        start = _written(process.pid)
        while process.poll() is None and _written(process.pid) - start < share * size and snapshot(out) == before:
            time.sleep(0.0005)
        assert process.poll() is None, f"seed {seed}: package ended before the kill ({share:.2f} of {size} bytes)"
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert snapshot(out) == before, f"seed {seed}, attempt {attempt}: killed at {share:.2f} of the tarball"


def _written(pid: int) -> int:
    """Bytes the process has handed to write(2) so far (0 once it is gone)."""
    try:
        lines = Path(f"/proc/{pid}/io").read_text().splitlines()
    except OSError:
        return 0
    return int(next(line for line in lines if line.startswith("wchar:")).split()[1])


def test_a_full_disk_leaves_the_previous_release_as_it_was(small_site, keys, tmp_path):
    """No file may grow past half the tarball (RLIMIT_FSIZE: what a full disk does to one write):
    one message naming the tarball, exit 1, the previous release untouched, no temporary left.
    Before, the tarball was cut short in place after SHA256SUMS had been replaced, with a traceback."""
    site = site_copy(small_site, tmp_path, {"big.bin": 8})
    out = tmp_path / "dist"
    assert run_package(site, out, "--key", str(keys / "release.key")).wait() == 0
    before = snapshot(out)
    (tarball,) = out.glob("*.tar.gz")
    (site / "index.html").write_text((site / "index.html").read_text() + "\n")
    process = run_package(site, out, "--replace", "--key", str(keys / "release.key"), limit=len(before[tarball.name]) // 2)
    _, error = process.communicate()
    assert process.returncode == 1, error
    assert error == (f"Error: {tarball}: File too large: a limit on the size of one file (`ulimit -f`, the file "
                     f"system's) refuses it: lift it, or package into another --out; {out} is as it was\n")
    assert snapshot(out) == before


@pytest.mark.parametrize("change", ["same size", "grown"])
def test_a_site_file_changing_while_it_is_packaged_fails_the_package(runner, small_site, tmp_path, monkeypatch, change):
    """A build writing the site between the reading for SHA256SUMS and SIZES and the reading into the
    tarball: the tarball would disagree with its own lists, so nothing is written. Before, the
    tarball carried the new bytes under the old checksum."""
    site = site_copy(small_site, tmp_path)
    out = tmp_path / "dist"
    assert runner.invoke(main, ["package", "--site", str(site), "--out", str(out)]).exit_code == 0
    before = snapshot(out)
    page = site / "index.html"
    surveyed = package.survey_site

    def survey_then_build(site: Path, files: list[str]) -> dict[str, package.SiteFile]:
        found = surveyed(site, files)
        text = page.read_bytes()
        page.write_bytes(text.replace(b"<html", b"<HTML", 1) if change == "same size" else text + b"\n")
        return found

    monkeypatch.setattr(package, "survey_site", survey_then_build)
    result = runner.invoke(main, ["package", "--site", str(site), "--out", str(out), "--replace"])
    assert result.exit_code == 1, result.output
    assert result.output == (f"Error: {page}: changed while it was being packaged (a build writing the site?): its "
                             "bytes are not the ones SHA256SUMS and SIZES were made from; package again once the site "
                             "is built\n")
    assert snapshot(out) == before


def test_what_a_killed_package_left_is_removed_and_a_folder_in_the_way_refused(runner, small_site, tmp_path):
    site = site_copy(small_site, tmp_path)
    out = tmp_path / "dist"
    info = package.release_info(site)
    root = f"{info.name}-{info.version}"
    out.mkdir()
    (out / f".{root}.tar.gz.package-tmp").write_bytes(b"half a tarball")
    (out / ".SHA256SUMS.package-tmp").write_bytes(b"half a list")
    # A killed package of another version: the next one removed only the temporaries of its own
    # files, and a tarball's worth of bytes stayed in --out under a hidden name for good.
    (out / f".{info.name}-0.9.0.tar.gz.package-tmp").write_bytes(b"half an older tarball")
    result = runner.invoke(main, ["package", "--site", str(site), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(snapshot(out)) == ["SHA256SUMS", f"{root}.tar.gz"]

    (out / "SHA256SUMS").unlink()
    (out / "SHA256SUMS").mkdir()
    before = sorted(path.name for path in out.iterdir())
    result = runner.invoke(main, ["package", "--site", str(site), "--out", str(out), "--replace"])
    assert result.exit_code == 1
    assert result.output == (f"Error: {out / 'SHA256SUMS'}: not a file, and a file of the release goes there: move it "
                             "away, or package into another --out\n")
    assert sorted(path.name for path in out.iterdir()) == before


def test_without_proc_the_release_is_written_under_temporary_names(small_site, tmp_path):
    """An unnamed temporary gets its name through /proc/self/fd. Where /proc is not mounted (a sandbox,
    a chroot), package wrote the whole release, then failed to name its first file and said to package
    again, which failed the same way. There it now writes the temporaries under names of their own."""
    unshare = shutil.which("unshare")
    hide_proc = "mount -t tmpfs none /proc && exec \"$@\""
    if unshare is None or subprocess.run([unshare, "--mount", "sh", "-c", hide_proc, "sh", "true"]).returncode:
        pytest.skip("cannot hide /proc in a mount namespace of its own (needs unshare and root)")
    site = site_copy(small_site, tmp_path)
    out = tmp_path / "dist"
    command = [unshare, "--mount", "sh", "-c", hide_proc, "sh",
               sys.executable, "-m", "generator", "package", "--site", str(site), "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    package.package_site(site, tmp_path / "with-proc", None)
    assert snapshot(out) == snapshot(tmp_path / "with-proc")


@pytest.mark.parametrize("inside", [".", "dist", "dist/deeper"])
def test_an_out_inside_the_site_is_refused_before_any_work(runner, small_site, tmp_path, inside):
    # Packaged into the site, a release was carried in the next release's tarball (a copy of the
    # last tarball at every version), and the next build's switch removed it from the site.
    site = site_copy(small_site, tmp_path)
    before = sorted(path for path in site.rglob("*"))
    out = site / inside
    result = runner.invoke(main, ["package", "--site", str(site), "--out", str(out)])
    assert result.exit_code == 1
    assert result.output == (f"Error: --out {out} is inside --site {site}: the next package would carry this release "
                             "in its tarball, and the next build would remove it; package into a folder outside the "
                             "site\n")
    assert sorted(path for path in site.rglob("*")) == before
