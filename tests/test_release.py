"""Across the air gap: reproducible tarball, minisign signatures, offline verification."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest
import requests

from generator.cli import main

MINISIGN = shutil.which("minisign")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("keys")
    from generator.release.minisign import generate_keypair

    generate_keypair(folder / "release")
    generate_keypair(folder / "other")
    return folder


@pytest.fixture(scope="module")
def release(tmp_path_factory, keys, default_site):
    out = tmp_path_factory.mktemp("dist")
    from generator.release.package import package_site

    result = package_site(default_site, out, keys / "release.key")
    return result


def verify(runner, target, *extra):
    result = runner.invoke(main, ["verify", str(target), *extra])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_keygen_writes_private_key_0600_and_refuses_overwrite(runner, tmp_path):
    result = runner.invoke(main, ["keygen", "--out", str(tmp_path / "k")])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(tmp_path / "k.key").st_mode) == 0o600
    before = (tmp_path / "k.key").read_bytes()
    result = runner.invoke(main, ["keygen", "--out", str(tmp_path / "k")])
    assert result.exit_code == 1
    assert "already exists: refusing to overwrite a key" in result.output
    assert (tmp_path / "k.key").read_bytes() == before


def test_signed_release_verifies(runner, release, keys):
    code, out = verify(runner, release.tarball, "--pubkey", str(keys / "release.pub"), "--not-older-than", "1.0.0")
    assert code == 0, out
    assert "OK," in out and "version=1.0.0" in out


def test_verify_counts_the_files_sha256sums_lists(runner, release, keys, tmp_path):
    """The count is the files SHA256SUMS lists (what `wc -l SHA256SUMS` and `build` say), not those
    plus the list and its signature: a reader comparing 595 with 593 lines looks for two files."""
    with tarfile.open(release.tarball) as archive:
        listed = len(archive.extractfile(f"{archive.getnames()[0]}/SHA256SUMS").read().splitlines())
        archive.extractall(tmp_path, filter="data")
    (root,) = tmp_path.iterdir()
    for target in (release.tarball, root):
        code, out = verify(runner, target, "--pubkey", str(keys / "release.pub"))
        assert code == 0 and f": OK, {listed} files match SHA256SUMS;" in out, out


@pytest.mark.skipif(MINISIGN is None, reason="minisign is not installed: apt-get install minisign")
def test_stock_minisign_verifies_our_signatures(release, keys, tmp_path):
    with tarfile.open(release.tarball) as archive:
        archive.extractall(tmp_path, filter="data")
    (root,) = tmp_path.iterdir()
    for path in (release.tarball, release.checksums, root / "SIZES", root / "SHA256SUMS"):
        result = subprocess.run([MINISIGN, "-Vm", str(path), "-p", str(keys / "release.pub")], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert "version=1.0.0" in result.stdout


def test_sizes_lists_every_member_of_the_tarball_with_its_size(release):
    with tarfile.open(release.tarball) as archive:
        members = archive.getmembers()
        root = members[0].name
        assert [m.name for m in members[:3]] == [root, f"{root}/SIZES", f"{root}/SIZES.minisig"]
        listed = archive.extractfile(members[1]).read().decode()
    files = {m.name.removeprefix(f"{root}/"): m.size for m in members[3:] if m.isfile()}
    assert listed == "".join(f"{size}  {path}\n" for path, size in sorted(files.items()))
    assert {"SHA256SUMS", "SHA256SUMS.minisig", "index.html"} <= files.keys()
    assert "SIZES" not in release.checksums.read_text()  # SHA256SUMS as before: the site's files only


@pytest.mark.skipif(MINISIGN is None, reason="minisign is not installed: apt-get install minisign")
def test_stock_minisign_rejects_a_tampered_tarball(release, keys, tmp_path):
    tampered = tmp_path / release.tarball.name
    data = bytearray(release.tarball.read_bytes())
    data[len(data) // 2] ^= 1
    tampered.write_bytes(bytes(data))
    shutil.copy(release.tarball.with_name(release.tarball.name + ".minisig"), tmp_path)
    result = subprocess.run([MINISIGN, "-Vm", str(tampered), "-p", str(keys / "release.pub")], capture_output=True)
    assert result.returncode != 0


def test_sha256sum_checks_the_unpacked_release(release, tmp_path):
    with tarfile.open(release.tarball) as archive:
        archive.extractall(tmp_path, filter="data")
    (root,) = tmp_path.iterdir()
    result = subprocess.run(["sha256sum", "-c", "--quiet", str(release.checksums)], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr



@pytest.mark.skipif(MINISIGN is None, reason="minisign is not installed: apt-get install minisign")
def test_a_key_made_by_stock_minisign_signs_releases(runner, default_site, tmp_path):
    """`minisign -G -W` (no password) leaves the key's checksum zero: such a key signs, and a release signed
    with it verifies with ours and with minisign; the same key with a damaged seed is refused."""
    made = subprocess.run([MINISIGN, "-G", "-W", "-p", str(tmp_path / "ms.pub"), "-s", str(tmp_path / "ms.key")],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    out = tmp_path / "dist"
    result = runner.invoke(main, ["package", "--site", str(default_site), "--out", str(out), "--key", str(tmp_path / "ms.key")])
    assert result.exit_code == 0, result.output
    (tarball,) = out.glob("*.tar.gz")
    code, output = verify(runner, tarball, "--pubkey", str(tmp_path / "ms.pub"))
    assert code == 0, output
    checked = subprocess.run([MINISIGN, "-Vm", str(tarball), "-p", str(tmp_path / "ms.pub")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr

    comment, encoded = (tmp_path / "ms.key").read_text().splitlines()
    blob = bytearray(base64.b64decode(encoded))
    blob[70] ^= 1  # a bit of the seed
    (tmp_path / "damaged.key").write_text(f"{comment}\n{base64.b64encode(bytes(blob)).decode()}\n")
    result = runner.invoke(main, ["package", "--site", str(default_site), "--out", str(tmp_path / "d2"), "--key", str(tmp_path / "damaged.key")])
    assert result.exit_code == 1 and "the key file is damaged" in result.output, result.output

def test_tarball_is_reproducible_across_umask_mtime_and_folder(tmp_path, default_site, monkeypatch):
    from generator.release.package import package_site

    digests = []
    for index, umask in enumerate((0o022, 0o077)):
        copy = tmp_path / f"copy{index}" / "site"
        old = os.umask(umask)
        try:
            shutil.copytree(default_site, copy)
        finally:
            os.umask(old)
        for path in copy.rglob("*"):
            os.utime(path, (1_000_000 + index * 12345, 1_000_000 + index * 12345))
        result = package_site(copy, tmp_path / f"dist{index}", None)
        digests.append(hashlib.sha256(result.tarball.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    with tarfile.open(result.tarball) as archive:
        members = archive.getmembers()
    root = members[0].name
    # The size list and its signature first, then everything else in path order.
    assert [m.name for m in members[:2]] == [root, f"{root}/SIZES"]
    rest = [m.name for m in members[2:]]
    assert rest == sorted(rest, key=lambda name: name.split("/"))
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}
    assert {m.mode for m in members if m.isfile()} == {0o644}
    assert len({m.mtime for m in members}) == 1
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    with tarfile.open(package_site(copy, tmp_path / "dist-epoch", None).tarball) as archive:
        assert {m.mtime for m in archive.getmembers()} == {1700000000}


def _rewrite(source: Path, target: Path, change) -> None:
    """Copy a release tarball member by member, letting `change(archive, member, data)` alter it."""
    with tarfile.open(source) as original, tarfile.open(target, "w:gz") as copy:
        for member in original.getmembers():
            data = original.extractfile(member).read() if member.isfile() else None
            change(copy, member, data)


def _keep(copy, member, data):
    copy.addfile(member, io.BytesIO(data) if data is not None else None)


def _extra(kind: bytes, name: str, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info


CASES = {
    "flipped byte": (lambda c, m, d: _keep(c, m, d[:-2] + bytes([d[-2] ^ 1]) + d[-1:] if m.name.endswith("catalog.json") else d),
                     "api/v1/catalog.json: content differs from its checksum"),
    "removed file": (lambda c, m, d: None if m.name.endswith("catalog.schema.json") else _keep(c, m, d),
                     "schemas/catalog.schema.json: listed in SHA256SUMS but missing"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_verify_rejects_changed_content(runner, release, tmp_path, case):
    change, expected = CASES[case]
    target = tmp_path / release.tarball.name
    _rewrite(release.tarball, target, change)
    code, out = verify(runner, target)
    assert code == 1
    assert expected in out
    assert out.strip().endswith("NOT verified (1 problem(s))"), out


def _adding(path: str):
    """A `_rewrite` change that adds the 3-byte file `path` (with the release folder) after SHA256SUMS."""
    def add(copy, member, data):
        _keep(copy, member, data)
        if member.name.endswith("/SHA256SUMS"):
            extra = tarfile.TarInfo(path)
            extra.size = 3
            copy.addfile(extra, io.BytesIO(b"x=1"))

    return add


def test_verify_rejects_an_added_file(runner, release, tmp_path):
    target = tmp_path / release.tarball.name
    root = release.tarball.name.removesuffix(".tar.gz")
    _rewrite(release.tarball, target, _adding(f"{root}/backdoor.js"))
    code, out = verify(runner, target)
    assert code == 1
    assert f"{root}/backdoor.js: not listed in SIZES (added after the release was made)" in out
    assert f"{target}: reading stopped at {root}/backdoor.js, whose header claims 3 bytes that SIZES does not allow" in out


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (_extra(tarfile.REGTYPE, "../evil.txt"), "../evil.txt: path climbs out of the release folder"),
        (_extra(tarfile.REGTYPE, "/etc/evil.txt"), "/etc/evil.txt: absolute path in the archive"),
        (_extra(tarfile.SYMTYPE, "ROOT/link", "/etc/passwd"), "ROOT/link -> /etc/passwd: symlink (releases hold regular files only)"),
        (_extra(tarfile.LNKTYPE, "ROOT/hard", "ROOT/index.html"), "ROOT/hard -> ROOT/index.html: hard link (releases hold regular files only)"),
        (_extra(tarfile.CHRTYPE, "ROOT/null"), "ROOT/null: device, FIFO, sparse or other special file"),
    ],
)
def test_verify_rejects_hostile_members_without_extracting(runner, release, tmp_path, entry, expected):
    root = release.tarball.name.removesuffix(".tar.gz")
    entry.name = entry.name.replace("ROOT", root)
    entry.linkname = entry.linkname.replace("ROOT", root)
    target = tmp_path / "work" / release.tarball.name
    target.parent.mkdir()

    def add(copy, member, data):
        _keep(copy, member, data)
        if member.name == root:
            copy.addfile(entry, io.BytesIO(b"") if entry.isfile() else None)

    _rewrite(release.tarball, target, add)
    code, out = verify(runner, target)
    assert code == 1
    assert expected.replace("ROOT", root) in out
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name], "nothing was extracted"
    assert not (tmp_path / "evil.txt").exists()


def test_verify_rejects_a_truncated_gzip(runner, release, tmp_path):
    target = tmp_path / release.tarball.name
    target.write_bytes(release.tarball.read_bytes()[: release.tarball.stat().st_size // 2])
    code, out = verify(runner, target)
    assert code == 1
    assert "the archive is truncated or corrupt" in out


def test_verify_rejects_wrong_and_foreign_signatures(runner, release, keys, tmp_path):
    code, out = verify(runner, release.tarball, "--pubkey", str(keys / "other.pub"))
    assert code == 1
    assert "not by the given key" in out
    forged = tmp_path / release.tarball.name
    shutil.copy(release.tarball, forged)
    signature = release.tarball.with_name(release.tarball.name + ".minisig").read_text().splitlines()
    signature[2] = signature[2].replace("version=1.0.0", "version=9.9.9")
    (tmp_path / (forged.name + ".minisig")).write_text("\n".join(signature) + "\n")
    code, out = verify(runner, forged, "--pubkey", str(keys / "release.pub"))
    assert code == 1
    assert "signature does not match: the file or its trusted comment was changed" in out


def test_verify_enforces_the_version_floor(runner, release, keys):
    code, out = verify(runner, release.tarball, "--pubkey", str(keys / "release.pub"), "--not-older-than", "1.0.1")
    assert code == 1
    assert "release version 1.0.0 is older than 1.0.1: refusing a rollback" in out



@pytest.fixture(scope="module")
def older_release(tmp_path_factory, keys, default_site):
    """A genuine release 0.9.0, signed with the release key: what a replay puts under 1.0.0's name."""
    import json

    from generator.paths import CATALOG_JSON
    from generator.release.package import package_site

    site = tmp_path_factory.mktemp("older") / "site"
    shutil.copytree(default_site, site)
    document = json.loads((site / CATALOG_JSON).read_text())
    document["catalog"]["version"] = "0.9.0"
    (site / CATALOG_JSON).write_text(json.dumps(document))
    return package_site(site, tmp_path_factory.mktemp("older-dist"), keys / "release.key")


def _renamed(older, newer_name: str, folder: Path) -> Path:
    """The older release and its signature, under the newer release's file names."""
    target = folder / newer_name
    shutil.copy(older.tarball, target)
    shutil.copy(older.tarball.with_name(older.tarball.name + ".minisig"), folder / f"{newer_name}.minisig")
    return target


def test_an_older_release_under_a_newer_ones_name_is_refused_without_a_floor(runner, release, older_release, keys,
                                                                             tmp_path):
    """Its signature is genuine, but it signs `...-0.9.0.tar.gz`: verify said OK, 0.9.0 in small print."""
    replayed = _renamed(older_release, release.tarball.name, tmp_path)
    code, out = verify(runner, replayed, "--pubkey", str(keys / "release.pub"))
    assert code == 1, out
    assert (f"{replayed}: its signature was made for {older_release.tarball.name}: another release under this "
            "file's name (an older one replayed?), or the file was renamed") in out
    code, out = verify(runner, older_release.tarball, "--pubkey", str(keys / "release.pub"))
    assert code == 0 and f"file={older_release.tarball.name})" in out, out


def _signed_anew(tarball: Path, keys: Path, trusted_comment: str) -> None:
    """Sign `tarball` with the release key under `trusted_comment`, as its signer could."""
    from generator.release.minisign import read_secret_key, sign

    signature = sign(tarball.read_bytes(), read_secret_key(keys / "release.key"), trusted_comment)
    tarball.with_name(tarball.name + ".minisig").write_text(signature)


def _outer_comment(release) -> str:
    return release.tarball.with_name(release.tarball.name + ".minisig").read_text().splitlines()[2].removeprefix(
        "trusted comment: ")


def test_a_broken_inner_signature_is_refused_under_a_valid_outer_one(runner, release, keys, tmp_path):
    """The archive's signature valid (signed anew over the changed tarball), SHA256SUMS.minisig inside
    it one base64 character off: the folder unpacked from it would fail verify, so the tarball must
    too. verify checked the inner signature only when the outer one had no trusted comment."""
    def flip(copy, member, data):
        if member.name.endswith("/SHA256SUMS.minisig"):
            lines = data.decode().split("\n")
            lines[1] = lines[1][:40] + ("B" if lines[1][40] != "B" else "C") + lines[1][41:]  # the signature, not the key id
            data = "\n".join(lines).encode()
        _keep(copy, member, data)

    target = tmp_path / release.tarball.name
    _rewrite(release.tarball, target, flip)
    _signed_anew(target, keys, _outer_comment(release))
    code, out = verify(runner, target, "--pubkey", str(keys / "release.pub"))
    assert code == 1, out
    assert "SHA256SUMS: signature does not match: the file or its trusted comment was changed" in out


def test_a_signature_naming_no_file_is_refused(runner, release, keys, tmp_path):
    """mcp-catalog always signs `file=<name>`; without it the replay check had nothing to compare and
    verify said OK: any release of this key, renamed, would pass (the stock commands' grep refuses it)."""
    target = tmp_path / release.tarball.name
    shutil.copy(release.tarball, target)
    comment = _outer_comment(release)
    assert comment.endswith(f" file={target.name}")
    _signed_anew(target, keys, comment.removesuffix(f" file={target.name}"))
    code, out = verify(runner, target, "--pubkey", str(keys / "release.pub"))
    assert code == 1, out
    assert f"{target}: its signature's trusted comment names no file (no file=)" in out


@pytest.mark.parametrize(("signature", "expected"), [
    (b"\xff\xfe not text\n", "not a minisign signature file"),
    (b"x" * ((64 << 10) + 1), "larger than any signature (65536 bytes)"),
])
def test_a_signature_file_that_is_no_signature_is_a_message(runner, release, keys, tmp_path, signature, expected):
    target = tmp_path / release.tarball.name
    shutil.copy(release.tarball, target)
    (tmp_path / f"{target.name}.minisig").write_bytes(signature)
    code, out = verify(runner, target, "--pubkey", str(keys / "release.pub"))
    assert code == 1 and f"{target}.minisig: {expected}" in out, out


def test_the_archive_is_checked_in_chunks_and_refused_past_any_release_size(runner, release, keys, monkeypatch):
    """A file of many gigabytes beside its signature was read whole (MemoryError, a traceback)."""
    from generator.release import verify as verifying

    read_whole = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda path: pytest.fail(f"{path} read whole") if path == release.tarball
                        else read_whole(path))
    code, out = verify(runner, release.tarball, "--pubkey", str(keys / "release.pub"))
    assert code == 0, out
    monkeypatch.setattr(verifying, "MAX_ARCHIVE_BYTES", release.tarball.stat().st_size - 1)
    code, out = verify(runner, release.tarball, "--pubkey", str(keys / "release.pub"))
    assert code == 1 and f"{release.tarball}: larger than any release" in out, out


@pytest.mark.parametrize("floor", ["v2.0.0", "banana", " 2.0.0", "2.0", "2.0.0.1", ""])
def test_a_floor_that_is_no_release_version_is_refused(runner, release, keys, floor):
    """Compared anyhow, a mistyped floor let every release through: the rollback check, off without a word."""
    code, out = verify(runner, release.tarball, "--pubkey", str(keys / "release.pub"), "--not-older-than", floor)
    assert code == 1
    assert "not a release version" in out and "OK," not in out


@pytest.mark.parametrize(("floor", "admitted"), [
    ("1.0.0-rc.10", True), ("1.0.0", True), ("1.0.0+build.7", True), ("0.99.100", True),
    ("1.0.1-rc.1", False), ("1.0.1", False), ("1.10.0", False),
])
def test_the_floor_follows_semantic_version_precedence(runner, release, keys, floor, admitted):
    code, out = verify(runner, release.tarball, "--pubkey", str(keys / "release.pub"), "--not-older-than", floor)
    assert (code == 0) == admitted, out


def test_pre_releases_are_ordered_as_semantic_versions():
    from generator.release.verify import version_order
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
               "1.0.0-rc.1", "1.0.0-rc.9", "1.0.0-rc.10", "1.0.0", "1.0.1", "1.2.0", "1.10.0", "2.0.0"]
    assert sorted(reversed(ordered), key=version_order) == ordered
    assert version_order("1.0.0+build.1") == version_order("1.0.0")

def test_verify_a_site_folder_and_its_tampering(runner, release, keys, tmp_path):
    with tarfile.open(release.tarball) as archive:
        archive.extractall(tmp_path, filter="data")
    (root,) = tmp_path.iterdir()
    code, out = verify(runner, root, "--pubkey", str(keys / "release.pub"))
    assert code == 0, out
    (root / "index-extra.html").write_text("<p>hi</p>")
    (root / "schemas" / "server.schema.json").write_text("{}")
    page = root / "index.html"
    page.write_bytes(page.read_bytes().replace(b"<html", b"<HTML", 1))  # the same size
    os.symlink("/etc/passwd", root / "passwd")
    code, out = verify(runner, root, "--pubkey", str(keys / "release.pub"))
    assert code == 1
    assert "index.html: content differs from its checksum (modified or corrupted)" in out
    assert "index-extra.html: not listed in SIZES (added after the release was made)" in out
    assert "schemas/server.schema.json: size differs from the one SIZES lists (modified, or a decompression bomb)" in out
    assert "passwd -> /etc/passwd: symlink (releases hold regular files only)" in out


@pytest.mark.parametrize("signed", [False, True])
def test_a_folder_never_packaged_is_named_a_builds_output_not_a_release(runner, default_site, keys, tmp_path, signed):
    """verify on a site straight from `build` said SIZES was missing because an earlier mcp-catalog
    packaged it, and SHA256SUMS was missing "from the release": it never was one. Said once now."""
    pubkey = ["--pubkey", str(keys / "release.pub")] if signed else []
    code, out = verify(runner, default_site, *pubkey)
    assert code == 1
    assert out.splitlines() == [
        f"Error: {default_site}: the output of `mcp-catalog build`, not a release (it holds neither SHA256SUMS nor "
        f"SIZES): `mcp-catalog package --site {default_site}` makes a release of it (a tarball in dist/) to verify",
        f"{default_site}: NOT verified (1 problem(s))"]
    code, out = verify(runner, tmp_path, *pubkey)
    assert code == 1
    assert out.splitlines() == [
        f"Error: {tmp_path}: not a release (it holds neither SHA256SUMS nor SIZES): pass a release tarball or a "
        "folder unpacked from one", f"{tmp_path}: NOT verified (1 problem(s))"]


def test_package_refuses_a_folder_that_is_not_a_site(runner, tmp_path):
    result = runner.invoke(main, ["package", "--site", str(tmp_path), "--out", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "is not a built site" in result.output


TAR = shutil.which("tar")


@pytest.mark.skipif(TAR is None, reason="GNU tar is not installed: apt-get install tar")
def test_verify_refuses_a_sparse_bomb_without_reading_it(runner, tmp_path):
    """A few hundred bytes of gzip that unpack to 4 GiB of holes must not be read, let alone held."""
    folder = tmp_path / "rel" / "bomb-1.0.0"
    folder.mkdir(parents=True)
    with open(folder / "hole", "wb") as handle:
        handle.truncate(4 << 30)
    bomb = tmp_path / "bomb.tar.gz"
    subprocess.run([TAR, "--sparse", "-czf", str(bomb), "-C", str(tmp_path / "rel"), "bomb-1.0.0"], check=True)
    assert bomb.stat().st_size < 10_000
    code, out = verify(runner, bomb)
    assert code == 1
    assert "bomb-1.0.0/hole: device, FIFO, sparse or other special file" in out or "more than any release" in out


def test_a_failed_outer_signature_stops_before_the_archive_is_opened(runner, release, keys, tmp_path):
    corrupt = tmp_path / release.tarball.name
    corrupt.write_bytes(b"not even gzip")
    shutil.copy(release.tarball.with_name(release.tarball.name + ".minisig"), tmp_path)
    code, out = verify(runner, corrupt, "--pubkey", str(keys / "release.pub"))
    assert code == 1
    assert "signature does not match" in out
    assert "truncated or corrupt" not in out, "the unsigned bytes were never parsed"


def test_verify_reports_a_resized_file_once_not_also_as_missing(runner, release, keys, tmp_path):
    """A file refused on its size was never hashed: it is changed, not missing."""
    with tarfile.open(release.tarball) as archive:
        archive.extractall(tmp_path, filter="data")
    (root,) = tmp_path.iterdir()
    page = root / "index.html"
    page.write_bytes(page.read_bytes() + b"<!-- edited -->")
    code, out = verify(runner, root, "--pubkey", str(keys / "release.pub"))
    assert code == 1
    assert [line.removeprefix("Error: ") for line in out.splitlines() if "index.html" in line] == [
        "index.html: size differs from the one SIZES lists (modified, or a decompression bomb)"], out
    assert out.strip().endswith("NOT verified (1 problem(s))"), out


def test_verify_reports_a_member_with_another_empty_header_size_once(runner, release, tmp_path):
    """An empty member where SIZES lists bytes is refused on its header, not also called missing."""
    target = tmp_path / release.tarball.name

    def empty(copy, member, data):
        if member.name == f"{member.name.split('/')[0]}/index.html":
            member.size = 0
            data = b""
        _keep(copy, member, data)

    _rewrite(release.tarball, target, empty)
    code, out = verify(runner, target)
    assert code == 1
    assert "listed in SHA256SUMS but missing" not in out, out
    assert "size differs from the one SIZES lists" in out, out


@pytest.mark.parametrize(("kind", "linkname", "expected"), [
    (tarfile.SYMTYPE, "../index.html", "ROOT/about/index.html -> ../index.html: symlink (releases hold regular files only)"),
    (tarfile.LNKTYPE, "ROOT/index.html", "ROOT/about/index.html -> ROOT/index.html: hard link (releases hold regular files only)"),
    (tarfile.FIFOTYPE, "", "ROOT/about/index.html: device, FIFO, sparse or other special file"),
], ids=["symlink", "hard-link", "fifo"])
def test_verify_reports_a_listed_file_packed_as_a_link_once_not_also_as_missing(runner, release, tmp_path, kind, linkname, expected):
    """A listed file whose member is a link or special file is that problem, not also missing from SHA256SUMS."""
    root = release.tarball.name.removesuffix(".tar.gz")
    target = tmp_path / release.tarball.name

    def linked(copy, member, data):
        if member.name == f"{root}/about/index.html":
            copy.addfile(_extra(kind, member.name, linkname.replace("ROOT", root)))
        else:
            _keep(copy, member, data)

    _rewrite(release.tarball, target, linked)
    code, out = verify(runner, target)
    assert code == 1
    assert out.removeprefix("Error: ").splitlines() == [expected.replace("ROOT", root), f"{target}: NOT verified (1 problem(s))"]


def test_package_refuses_to_replace_a_release_of_the_same_version_with_other_bytes(runner, default_site, keys, tmp_path):
    site, out = tmp_path / "site", tmp_path / "dist"
    shutil.copytree(default_site, site)
    command = ["package", "--site", str(site), "--out", str(out), "--key", str(keys / "release.key")]
    result = runner.invoke(main, command)
    assert result.exit_code == 0, result.output
    released = {path.name: path.read_bytes() for path in out.iterdir()}
    result = runner.invoke(main, command)
    assert result.exit_code == 0, result.output  # the same bytes again: nothing to refuse
    assert {path.name: path.read_bytes() for path in out.iterdir()} == released

    page = site / "index.html"
    page.write_bytes(page.read_bytes().replace(b"</body>", b"<p>late edit</p></body>", 1))
    result = runner.invoke(main, command)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    (tarball,) = (name for name in released if name.endswith(".tar.gz"))
    assert result.output == (
        f"Error: {out / tarball} already holds release 1.0.0 with other content: raise the catalog's version for a "
        "new release, or pass --replace to overwrite this one (anyone holding the old one must be told)\n")
    assert {path.name: path.read_bytes() for path in out.iterdir()} == released, "nothing was written"

    result = runner.invoke(main, [*command, "--replace"])
    assert result.exit_code == 0, result.output
    assert (out / tarball).read_bytes() != released[tarball]
    code, output = verify(runner, out / tarball, "--pubkey", str(keys / "release.pub"))
    assert code == 0, output


def test_package_refuses_other_content_before_making_a_tarball_when_the_sizes_tell(runner, default_site, tmp_path,
                                                                                   monkeypatch):
    """The old tarball's size list (its first member) differing from the new one's is known in a moment:
    the refusal comes before the new tarball is made (a minute at 10,000 servers), not after. Sizes
    alike but bytes not (an edit of the same length) can only be told by the digest, afterwards."""
    from generator.release import package

    site, out = tmp_path / "site", tmp_path / "dist"
    shutil.copytree(default_site, site)
    command = ["package", "--site", str(site), "--out", str(out)]
    assert runner.invoke(main, command).exit_code == 0
    released = {path.name: path.read_bytes() for path in out.iterdir()}
    made = []
    writer = package.write_release_tarball
    monkeypatch.setattr(package, "write_release_tarball", lambda *args: made.append(1) or writer(*args))
    page = site / "index.html"
    original = page.read_bytes()

    page.write_bytes(original.replace(b"</body>", b"<p>late edit</p></body>", 1))
    result = runner.invoke(main, command)
    assert (result.exit_code, made) == (1, []), result.output
    assert "already holds release 1.0.0 with other content" in result.output

    page.write_bytes(original.replace(b"</body>", b"</BODY>", 1))  # same size, other bytes
    result = runner.invoke(main, command)
    assert (result.exit_code, made) == (1, [1]), result.output
    assert "already holds release 1.0.0 with other content" in result.output
    assert {path.name: path.read_bytes() for path in out.iterdir()} == released, "nothing was written"


def test_an_unsigned_package_leaves_no_signature_beside_bytes_it_does_not_sign(runner, default_site, keys, tmp_path):
    """Packaging without --key over a signed release removes the signatures of the bytes it replaced
    (and says so), and keeps one that still signs the same bytes."""
    from generator.release import minisign

    site, out = tmp_path / "site", tmp_path / "dist"
    shutil.copytree(default_site, site)
    command = ["package", "--site", str(site), "--out", str(out)]
    result = runner.invoke(main, [*command, "--key", str(keys / "release.key")])
    assert result.exit_code == 0, result.output
    (tarball,) = out.glob("*.tar.gz")
    signed_sums = (out / "SHA256SUMS.minisig").read_bytes()

    result = runner.invoke(main, [*command, "--replace"])  # unsigned: the tarball's bytes change, SHA256SUMS's do not
    assert result.exit_code == 0, result.output
    assert f"removed {tarball}.minisig: it signed the bytes this package replaced" in result.output
    assert sorted(path.name for path in out.iterdir()) == sorted(["SHA256SUMS", "SHA256SUMS.minisig", tarball.name])
    signature = minisign.parse_signature(signed_sums.decode(), "SHA256SUMS.minisig")
    minisign.verify((out / "SHA256SUMS").read_bytes(), signature, minisign.read_public_key(keys / "release.pub"), "SHA256SUMS")

    page = site / "index.html"
    page.write_bytes(page.read_bytes().replace(b"</body>", b"<p>late edit</p></body>", 1))
    result = runner.invoke(main, [*command, "--replace"])
    assert result.exit_code == 0, result.output
    assert f"removed {out / 'SHA256SUMS.minisig'}: it signed the bytes this package replaced" in result.output
    assert sorted(path.name for path in out.iterdir()) == sorted(["SHA256SUMS", tarball.name])

    result = runner.invoke(main, [*command, "--replace", "--key", str(keys / "release.key")])
    assert result.exit_code == 0, result.output
    tarball.unlink()  # by hand: its signature stays behind
    result = runner.invoke(main, command)
    assert result.exit_code == 0, result.output
    assert f"removed {tarball}.minisig" in result.output
    assert not Path(f"{tarball}.minisig").exists()


# --- the stock-tools runbook of the install pages ------------------------------------------

RUNBOOK_PAGES = ("install/index.html", "registries/production/index.html", "registries/sandbox/index.html")


def _stock_commands(site: Path, page: str) -> list[str]:
    """The verify step's commands for machines without mcp-catalog, as the page shows them."""
    import html5lib

    document = html5lib.parse((site / page).read_text(), namespaceHTMLElements=False)
    (pre,) = document.findall(".//li[@id='step-verify']//pre")
    lines = "".join(pre.itertext()).splitlines()
    return [line for line in lines if line and not line.startswith(("#", "mcp-catalog "))]


def _far_side(release, keys, folder: Path) -> Path:
    """A working folder as carried across the gap: dist/ with this release and an older one, release.pub."""
    dist = folder / "dist"
    dist.mkdir(parents=True)
    for path in (release.tarball, release.checksums, *release.signatures):
        shutil.copy(path, dist)
    older = release.tarball.name.replace("-1.0.0.", "-0.9.0.")
    shutil.copy(release.tarball, dist / older)  # a second release beside it: no command may match both
    shutil.copy(release.tarball.with_name(release.tarball.name + ".minisig"), dist / f"{older}.minisig")
    shutil.copy(keys / "release.pub", folder)
    return folder


def _run_runbook(commands: list[str], folder: Path, after_unpacking: str = "") -> subprocess.CompletedProcess:
    """Run the commands one after the other as a user would, stopping at the first failure;
    `after_unpacking` runs right after the command that unpacks the tarball."""
    script = ["set -e"]
    for command in commands:
        script.append(command)
        if "tar -x" in command and after_unpacking:
            script.append(after_unpacking)
    return subprocess.run(["bash", "-c", "\n".join(script)], cwd=folder, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(MINISIGN is None, reason="minisign is not installed: apt-get install minisign")
def test_stock_runbook_passes_on_the_genuine_release(release, keys, default_site, tmp_path):
    commands = _stock_commands(default_site, "install/index.html")
    for page in RUNBOOK_PAGES[1:]:
        assert _stock_commands(default_site, page) == commands, page
    assert f"minisign -QVm dist/{release.tarball.name} -p release.pub | grep -F ' file={release.tarball.name}'" in commands
    result = _run_runbook(commands, _far_side(release, keys, tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site-1.0.0" / "index.html").is_file()


@pytest.mark.skipif(MINISIGN is None, reason="minisign is not installed: apt-get install minisign")
def test_stock_runbook_of_the_next_release_runs_where_the_last_one_did(release, keys, default_site, default_source_copy, tmp_path):
    """Release after release the far side keeps one working folder (dist/, release.pub): the next
    release's runbook, as its page shows it, runs there too. It unpacked into `site`, which the
    last release's run had made, so `mkdir site` failed and the upgrade stopped at the first step;
    each release now gets its own folder, and the one deployed stays beside it for the switch."""
    from generator.build import build
    from generator.release.package import package_site

    folder = _far_side(release, keys, tmp_path / "far")
    first = _run_runbook(_stock_commands(default_site, "install/index.html"), folder)
    assert first.returncode == 0, first.stdout + first.stderr
    catalog = default_source_copy / "catalog.yaml"
    catalog.write_text(catalog.read_text().replace("\nversion: 1.0.0\n", "\nversion: 1.1.0\n", 1))
    build(default_source_copy, tmp_path / "next" / "site")
    package_site(tmp_path / "next" / "site", folder / "dist", keys / "release.key")
    second = _run_runbook(_stock_commands(tmp_path / "next" / "site", "install/index.html"), folder)
    assert second.returncode == 0, second.stdout + second.stderr
    assert (folder / "site-1.0.0" / "index.html").is_file() and (folder / "site-1.1.0" / "index.html").is_file()
    assert '"version":"1.1.0"' in (folder / "site-1.1.0" / "api/v1/catalog.json").read_text()


@pytest.mark.skipif(MINISIGN is None, reason="minisign is not installed: apt-get install minisign")
def test_stock_runbook_refuses_a_tampered_tarball_before_unpacking(release, keys, default_site, tmp_path):
    """A tarball that still unpacks, with an unlisted member added: its signature no longer matches."""
    folder = _far_side(release, keys, tmp_path)
    root = release.tarball.name.removesuffix(".tar.gz")
    _rewrite(release.tarball, folder / "dist" / release.tarball.name, _adding(f"{root}/servers/github/extra.yaml"))
    result = _run_runbook(_stock_commands(default_site, "install/index.html"), folder)
    assert result.returncode != 0, result.stdout + result.stderr
    assert not (folder / "site-1.0.0").exists(), "nothing is unpacked from a tarball whose signature fails"


@pytest.mark.skipif(MINISIGN is None, reason="minisign is not installed: apt-get install minisign")
def test_stock_runbook_refuses_an_older_release_renamed_to_this_ones_name(release, older_release, keys, default_site,
                                                                          tmp_path):
    """Genuinely signed, so `minisign -V` passes it: its trusted comment names the file it signs."""
    folder = _far_side(release, keys, tmp_path)
    _renamed(older_release, release.tarball.name, folder / "dist")
    result = _run_runbook(_stock_commands(default_site, "install/index.html"), folder)
    assert result.returncode != 0, result.stdout + result.stderr
    assert not (folder / "site-1.0.0").exists(), "nothing is unpacked from another release"


@pytest.mark.skipif(MINISIGN is None, reason="minisign is not installed: apt-get install minisign")
def test_stock_runbook_notices_an_extra_file_in_the_unpacked_tree(release, keys, default_site, tmp_path):
    folder = _far_side(release, keys, tmp_path)
    result = _run_runbook(_stock_commands(default_site, "install/index.html"), folder,
                          after_unpacking="echo 'x: 1' > servers/github/extra.yaml")  # in the site folder
    assert (folder / "site-1.0.0" / "servers" / "github" / "extra.yaml").is_file()
    assert result.returncode != 0, result.stdout + result.stderr
    assert "servers/github/extra.yaml" in result.stdout + result.stderr


@pytest.mark.skipif(MINISIGN is None, reason="minisign is not installed: apt-get install minisign")
def test_a_release_installed_as_documented_is_not_kept_as_the_previous_ones(release, keys, default_site, tmp_path):
    """Every member of a release tarball is dated `last_updated`, which the next release may keep,
    and the web servers' validators are a file's date and size: a file changed to bytes of the
    same length (here the version, 1.0.0 to 1.0.1) kept its ETag and Last-Modified once unpacked
    with `tar -xzf`, so a browser or proxy revalidating its copy got 304 and kept the old one. The
    runbook unpacks with `-m`: each install dates its files itself."""
    import json
    import time

    from generator.paths import CATALOG_JSON
    from generator.release.package import package_site
    from webservers import nginx_serving

    site = tmp_path / "next-site"
    shutil.copytree(default_site, site)
    before = (site / CATALOG_JSON).read_text()
    after = before.replace('"version":"1.0.0"', '"version":"1.0.1"', 1)
    assert len(after) == len(before) and json.loads(after)["catalog"]["version"] == "1.0.1"
    (site / CATALOG_JSON).write_text(after)
    following = package_site(site, tmp_path / "next-dist", keys / "release.key")
    commands = _stock_commands(default_site, "install/index.html")
    first = _far_side(release, keys, tmp_path / "first")
    second = tmp_path / "second"
    (second / "dist").mkdir(parents=True)
    for path in (following.tarball, *following.signatures):
        shutil.copy(path, second / "dist")
    shutil.copy(keys / "release.pub", second)
    result = _run_runbook(commands, first)
    assert result.returncode == 0, result.stdout + result.stderr
    live = tmp_path / "live"  # the served folder, switched from one install to the next
    live.symlink_to(first / "site-1.0.0")
    with nginx_serving(live, tmp_path / "nginx") as url:
        old = requests.get(f"{url}/{CATALOG_JSON}", headers={"Accept-Encoding": "identity"}, timeout=10)
        assert old.status_code == 200 and old.text == before, old.status_code
        time.sleep(1.1)  # nginx dates a file in whole seconds: a second install, a second later
        result = _run_runbook([command.replace("-1.0.0", "-1.0.1") for command in commands], second)
        assert result.returncode == 0, result.stdout + result.stderr
        live.unlink()
        live.symlink_to(second / "site-1.0.1")
        for condition in ({"If-None-Match": old.headers["ETag"]}, {"If-Modified-Since": old.headers["Last-Modified"]}):
            answer = requests.get(f"{url}/{CATALOG_JSON}", headers={"Accept-Encoding": "identity", **condition}, timeout=10)
            assert (answer.status_code, answer.text) == (200, after), (condition, answer.status_code, answer.headers)


def test_readme_gives_the_runbook_commands(release, default_site):
    """README's stock-tools sequence is the runbook's, with `<catalog>-<version>` for the release's name."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    root = release.tarball.name.removesuffix(".tar.gz")
    commands = [command.replace(root, "<catalog>-<version>").replace("site-1.0.0", "site-<version>")
                for command in _stock_commands(default_site, "install/index.html")]
    assert "\n".join(commands) in readme


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed: apt-get install git")
def test_what_the_readme_commands_leave_in_a_checkout_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """keygen, build (twice: the lock and the spare beside site/), package and the stock verify's unpack,
    run as the README runs them at the root of a checkout, leave nothing `git status` offers to commit:
    above all not release.key."""
    from click.testing import CliRunner

    repo = Path(__file__).parents[1]
    checkout = tmp_path / "checkout"
    shutil.copytree(repo / "catalog-source", checkout / "catalog-source")
    shutil.copy(repo / ".gitignore", checkout / ".gitignore")
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "source"], check=True)
    monkeypatch.chdir(checkout)
    for command in (["keygen", "--out", "release"], ["build"], ["build"],
                    ["package", "--site", "site", "--out", "dist", "--key", "release.key"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 0, (command, result.output)
    (tarball,) = (checkout / "dist").glob("*.tar.gz")
    (checkout / "site-1.0.0").mkdir()
    subprocess.run(["tar", "-xzmf", str(tarball), "-C", str(checkout / "site-1.0.0"), "--strip-components=1"], check=True)
    assert {p.name.partition("-")[0] for p in checkout.iterdir() if p.name.startswith(".site.")} == {".site.lock", ".site.spare"}
    status = subprocess.run([*git, "status", "--porcelain", "--untracked-files=all"], capture_output=True, text=True, check=True)
    assert status.stdout.splitlines() == ["?? release.pub"]
