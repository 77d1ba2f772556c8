"""Reliability: `verify` cannot be fooled or flooded by a tampered release.

Marked `reliability`. Each case is one cause of tampering; verify must fail, name it, and
say so in at most 10 lines, never printing a member name raw. A release begins with its
signed size list (SIZES): a member it does not allow is refused on its header, and reading
stops there, so no tampered tarball makes verify decompress more than the list allows; the
bombs below are measured by counting the bytes gzip hands out.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO
from test_archive import reproducible_tarball
from generator.cli import main
from generator.release import minisign
from generator.release.package import package_site

pytestmark = pytest.mark.reliability
MINISIGN = shutil.which("minisign")
GIB = 1 << 30


@pytest.fixture(scope="module")
def small_release(small_site, tmp_path_factory) -> Path:
    return package_site(small_site, tmp_path_factory.mktemp("dist"), None).tarball


@pytest.fixture(scope="module")
def signed_release(small_site, keys, tmp_path_factory) -> Path:
    return package_site(small_site, tmp_path_factory.mktemp("signed-dist"), keys / "release.key").tarball


@pytest.fixture
def decompressed(monkeypatch) -> list[int]:
    """The bytes gzip hands out while the test runs (one counter); past 256 MB the read fails
    at once, so a verify that would decompress a bomb fails the test fast instead of for minutes."""
    count = [0]
    real_read = gzip.GzipFile.read

    def counted(self, size=-1):  # reset it (count[0] = 0) right before the verify measured
        data = real_read(self, size)
        count[0] += len(data)
        if count[0] > 256 << 20:
            raise AssertionError(f"verify decompressed more than 256 MB ({count[0]} bytes)")
        return data

    monkeypatch.setattr(gzip.GzipFile, "read", counted)
    return count


def _members(tarball: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    with tarfile.open(tarball) as archive:
        return [(m, archive.extractfile(m).read() if m.isfile() else None) for m in archive.getmembers()]


def _write(target: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], empty_after: bytes = b"", **options: Any) -> Path:
    """A gzipped tarball of `members`, then the headers `empty_after` (from `_empty_members`)."""
    with tarfile.open(target, "w:gz", compresslevel=1, **options) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
        archive.fileobj.write(empty_after)  # type: ignore[union-attr]
        archive.offset += len(empty_after)  # where close() writes the end-of-archive blocks from
    return target


def _empty_members(folder: str, count: int) -> bytes:
    """The tar headers of `count` empty files `<folder>/<i>.html`, byte for byte as tarfile writes
    them (checked on the first and the last): tarfile's own `TarInfo.tobuf` took 9-12 s for the
    150,000 of the flood test, a template whose name and checksum are filled in takes about one."""
    template = bytearray(_file(f"{folder}/0.html", b"")[0].tobuf())
    headers = bytearray()
    for index in range(count):
        header = template.copy()
        header[0:100] = f"{folder}/{index}.html".encode().ljust(100, b"\0")
        header[148:156] = b" " * 8
        header[148:155] = b"%06o\0" % sum(header)
        headers += header
    for index in (0, count - 1):
        assert headers[index * 512:(index + 1) * 512] == _file(f"{folder}/{index}.html", b"")[0].tobuf()
    return bytes(headers)


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _verify(runner, target: Path, *options: str) -> list[str]:
    """The problem lines of a failed verify ("Error: " taken off the first), checked to be at most 10 lines in all."""
    result = runner.invoke(main, ["verify", str(target), *options])
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[-1] == f"{target}: NOT verified ({len(lines) - 1} problem(s))"
    assert len(lines) <= 10, result.output
    assert lines[0].startswith("Error: ")
    return [lines[0].removeprefix("Error: "), *lines[1:-1]]


def _root(members) -> str:
    return members[0][0].name.split("/")[0]


def _stopped(target: Path, name: str, size: int) -> str:
    return f"{target}: reading stopped at {name}, whose header claims {size} bytes that SIZES does not allow: nothing after it was read"


def _sign(target: Path, keys: Path, key: str = "release") -> None:
    """Sign `target` as the release key would (the hostile tarball got signed: the inner checks must still hold)."""
    secret = minisign.read_secret_key(keys / f"{key}.key")
    text = minisign.sign(target.read_bytes(), secret, f"mcp-catalog release name=test-catalog version=1.2.3 file={target.name}")
    target.with_name(target.name + ".minisig").write_text(text)


@pytest.mark.parametrize("hostile_first", [True, False])
@pytest.mark.parametrize("variant", ["same name", "./ name"])
def test_a_member_twice_is_refused_whichever_copy_comes_first(runner, small_release, tmp_path, variant, hostile_first):
    """A copy of the same size passes its header; the second copy, whichever it is, is refused on its header."""
    members = _members(small_release)
    root = _root(members)
    position = next(i for i, (m, _) in enumerate(members) if m.name == f"{root}/index.html")
    genuine = members[position][1]
    evil = b"<script>evil()</script>"
    name = f"{root}/index.html" if variant == "same name" else f"./{root}/index.html"
    hostile = _file(name, evil + genuine[len(evil):])
    order = [hostile, members[position]] if hostile_first else [members[position], hostile]
    target = _write(tmp_path / "t.tar.gz", members[:position] + order + members[position + 1:])
    lines = _verify(runner, target)
    second = order[1][0].name
    assert f"{second}: a second member for the same file (which copy would be unpacked?)" in lines
    assert _stopped(target, second, len(genuine)) in lines
    if hostile_first:
        assert "index.html: content differs from its checksum (modified or corrupted)" in lines


@pytest.mark.parametrize("control", ["\n", "\r", "\x1b[2K"])
def test_control_characters_in_a_name_are_escaped_never_printed(runner, small_release, tmp_path, control):
    members = _members(small_release)
    root = _root(members)
    forged = f"x{control}{root}.tar.gz: OK, 1113 files match SHA256SUMS"
    target = _write(tmp_path / "t.tar.gz", [*members, _file(f"{root}/{forged}", b"x")])
    lines = _verify(runner, target)
    shown = forged.replace("\n", "\\n").replace("\r", "\\r").replace("\x1b", "\\x1b")
    assert f"{root}/{shown}: not listed in SIZES (added after the release was made)" in lines
    assert _stopped(target, f"{root}/{shown}", 1) in lines
    assert not any(line.startswith(f"{root}.tar.gz: OK") for line in lines)
    assert control not in "\n".join(lines).replace("\n", "") or control == "\n"


def test_an_absolute_path_is_one_line_and_stops_the_reading(runner, small_release, tmp_path):
    members = _members(small_release)
    target = _write(tmp_path / "t.tar.gz", [*members, _file("/etc/cron.d/evil", b"x")])
    lines = _verify(runner, target)
    assert set(lines) == {"/etc/cron.d/evil: absolute path in the archive", _stopped(target, "/etc/cron.d/evil", 1)}


def test_a_second_top_level_folder_is_one_line(runner, small_release, tmp_path):
    members = _members(small_release)
    root = _root(members)
    copies = []
    for info, data in members:
        copy = tarfile.TarInfo(info.name.replace(root, "other", 1))
        copy.type, copy.size = info.type, info.size
        copies.append((copy, data))
    target = _write(tmp_path / "t.tar.gz", members + copies)
    lines = _verify(runner, target)
    assert set(lines) == {_stopped(target, "other/SIZES", copies[1][0].size),
                          f"2 members: outside the release folder {root}/ (an archive holds one top-level folder): other, other/SIZES"}


def test_a_hundred_thousand_unlisted_members_are_one_line(runner, small_release, tmp_path):
    """Empty members cost no decompression: each is looked at (and counted), none is read."""
    members = _members(small_release)
    root = _root(members)
    lines = _verify(runner, _write(tmp_path / "t.tar.gz", members, _empty_members(f"{root}/spam", 100_000)))
    assert lines == [f"100000 members: not listed in SIZES (added after the release was made): "
                          f"{root}/spam/0.html, {root}/spam/1.html, {root}/spam/2.html, ..."]


def test_a_flood_of_empty_members_stops_at_the_header_allowance(runner, small_release, tmp_path, decompressed):
    """Headers of members the list does not name may take 64 MiB: a flood past that is not read to its end."""
    members = _members(small_release)
    root = _root(members)
    target = _write(tmp_path / "t.tar.gz", members, _empty_members(f"{root}/spam", 150_000))  # 76.8 MB of headers
    decompressed[0] = 0
    lines = _verify(runner, target)
    assert any(line.startswith(f"{target}: the tar headers take more bytes than SIZES allows for: nothing after ")
               for line in lines), lines
    assert decompressed[0] < 72 << 20


def test_a_megabyte_name_is_cut(runner, small_release, tmp_path):
    members = _members(small_release)
    root = _root(members)
    long_name = "a" * 1_000_000
    lines = _verify(runner, _write(tmp_path / "t.tar.gz", [*members, _file(f"{root}/{long_name}", b"x")]))
    assert f"{root}/{'a' * (120 - len(root) - 1)}... ({len(root) + 1_000_001} characters): not listed in SIZES (added after the release was made)" in lines
    assert max(map(len, lines)) < 400


def test_a_member_claiming_too_many_bytes_is_refused_on_its_header(runner, small_release, tmp_path, decompressed):
    """The header is checked before a byte of the member is read: nothing is decompressed for it."""
    members = _members(small_release)
    root = _root(members)
    target = _write(tmp_path / "t.tar.gz", members)
    giant = tarfile.TarInfo(f"{root}/giant.bin")
    giant.size = 9 << 30
    with tarfile.open(target, "w:gz") as archive:  # a header, then no data at all
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
        archive.fileobj.write(giant.tobuf(archive.format, archive.encoding, archive.errors))
    decompressed[0] = 0
    lines = _verify(runner, target)
    assert set(lines) == {_stopped(target, f"{root}/giant.bin", 9 << 30),
                          f"{root}/giant.bin: not listed in SIZES (added after the release was made)"}
    assert decompressed[0] < sum(len(data or b"") for _, data in members) + (1 << 20)


# --- the signed size list (SIZES) -------------------------------------------------------------

_ZEROS = 16 << 20


def _deflated(data: bytes, final: bool = False) -> bytes:
    """`data` as raw deflate blocks that refer to nothing before them (a full flush), the last one final."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)


@functools.cache
def _zero_gib() -> tuple[bytes, int, list[int]]:
    """1 GiB of zeros as deflate blocks (16 MiB compressed once, repeated), its CRC-32, and the
    operator appending 1 GiB of zeros to a CRC-32 (zlib's crc32_combine, squared up from one bit)."""
    chunk = bytes(_ZEROS)
    crc = 0
    for _ in range(GIB // _ZEROS):
        crc = zlib.crc32(chunk, crc)
    operator = [0xEDB88320] + [1 << bit for bit in range(31)]  # one zero bit
    for _ in range((GIB * 8).bit_length() - 1):
        operator = [_times(operator, row) for row in operator]
    return _deflated(chunk) * (GIB // _ZEROS), crc, operator


def _times(matrix: list[int], vector: int) -> int:
    result, row = 0, 0
    while vector:
        if vector & 1:
            result ^= matrix[row]
        vector, row = vector >> 1, row + 1
    return result


def _gzip(target: Path, parts: list[bytes | int | None]) -> Path:
    """One gzip member holding `parts` in order, None standing for 1 GiB of zeros and a number for
    that many times 16 MiB of zeros: a valid gzip file (its CRC and length right) written piece by
    piece, the zeros never compressed again."""
    zeros, zeros_crc, append_zeros = _zero_gib()
    crc = length = 0
    with open(target, "wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")  # deflate, no name, no time
        for part in parts:
            if part is None:
                out.write(zeros)
                crc, length = _times(append_zeros, crc) ^ zeros_crc, length + GIB
            elif isinstance(part, int):
                out.write(zeros[:len(zeros) * part * _ZEROS // GIB])
                for _ in range(part):
                    crc = zlib.crc32(bytes(_ZEROS), crc)
                length += part * _ZEROS
            else:
                out.write(_deflated(part))
                crc, length = zlib.crc32(part, crc), length + len(part)
        out.write(_deflated(b"", final=True) + struct.pack("<II", crc, length & 0xFFFFFFFF))
    return target


def _head(release: Path, count: int = 3) -> bytes:
    """The tar bytes of the release's first `count` members (its folder, SIZES and SIZES.minisig)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in _members(release)[:count]:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
        start = buffer.tell()
    return buffer.getvalue()[:start]  # without the end-of-archive blocks


def _bomb(release: Path, target: Path, names: list[str], head: int = 3) -> Path:
    """The release's first `head` members, then a 1 GiB zero-filled member per name: about 10 MB
    of gzip that unpacks to 9 GiB, one gzip stream as `tar -czf` would write it, built without
    compressing 9 GiB."""
    parts: list[bytes | None] = [_head(release, head)]
    for name in names:
        info = tarfile.TarInfo(name)
        info.size = GIB
        parts += [info.tobuf(tarfile.PAX_FORMAT), None]
    return _gzip(target, [*parts, bytes(2 * tarfile.BLOCKSIZE)])


def _nine(root: str, listed: bool) -> list[str]:
    files = ["index.html", "404.html", "api/v1/catalog.json", "SHA256SUMS", "servers/fetch/index.html",
             "sitemap.xml", "robots.txt", "api/v1/servers.json", "search/index.json"]
    return [f"{root}/{name if listed else f'bomb-{i}.bin'}" for i, name in enumerate(files)]


@pytest.mark.parametrize("listed", [True, False], ids=["listed names", "unlisted names"])
@pytest.mark.parametrize("with_key", [True, False], ids=["--pubkey", "no key"])
def test_nine_one_gib_members_are_refused_after_a_few_kilobytes(runner, signed_release, keys, tmp_path, decompressed,
                                                                  listed, with_key):
    """The bomb of the issue (nine members of 1 GiB, 23 s to decompress), behind the genuine signed
    SIZES, in a tarball signed by the release key: stock minisign accepts it, verify refuses it on
    the first bomb's header."""
    root = _members(signed_release)[0][0].name
    names = _nine(root, listed)
    bomb = _bomb(signed_release, tmp_path / signed_release.name, names)
    assert bomb.stat().st_size < 12 << 20
    _sign(bomb, keys)
    if MINISIGN:
        assert subprocess.run([MINISIGN, "-Vm", str(bomb), "-p", str(keys / "release.pub")],
                              capture_output=True).returncode == 0, "a signed bomb: the outer signature holds"
    started = time.perf_counter()
    decompressed[0] = 0
    lines = _verify(runner, bomb, *(["--pubkey", str(keys / "release.pub")] if with_key else []))
    elapsed = time.perf_counter() - started
    reason = ("size differs from the one SIZES lists (modified, or a decompression bomb)" if listed
              else "not listed in SIZES (added after the release was made)")
    assert set(lines) == {_stopped(bomb, names[0], GIB), f"{names[0]}: {reason}"}
    assert decompressed[0] < 1 << 20, f"{decompressed[0]} bytes decompressed"
    assert elapsed < 10, f"{elapsed:.1f} s"  # the old verify took 23 s


def test_a_forged_size_list_is_refused_before_the_next_member(runner, signed_release, keys, tmp_path, decompressed):
    """SIZES rewritten to allow the bomb: its signature no longer matches, and nothing after it is read."""
    members = _members(signed_release)
    root = members[0][0].name
    names = _nine(root, listed=False)
    forged = members[1][1] + "".join(f"{GIB}  {name.split('/', 1)[1]}\n" for name in names[:7]).encode()
    info, _ = _file(members[1][0].name, forged)
    edited = tmp_path / "edited.tar.gz"
    _write(edited, [members[0], (info, forged), members[2]])
    bomb = _bomb(edited, tmp_path / signed_release.name, names[:7])
    _sign(bomb, keys)
    decompressed[0] = 0
    lines = _verify(runner, bomb, "--pubkey", str(keys / "release.pub"))
    assert lines == ["SIZES: signature does not match: the file or its trusted comment was changed: "
                          "nothing after it was read"]
    assert decompressed[0] < 1 << 20


def test_a_size_list_signed_by_another_key_is_refused(runner, small_site, keys, tmp_path, decompressed):
    other = package_site(small_site, tmp_path / "other", keys / "other.key").tarball
    _sign(other, keys)  # the outer signature by the right key, the lists inside by another
    decompressed[0] = 0
    lines = _verify(runner, other, "--pubkey", str(keys / "release.pub"))
    assert lines[0].startswith("SIZES: signed by key ") and lines[0].endswith(": nothing after it was read")
    assert decompressed[0] < 64 << 10


def test_a_signed_list_claiming_more_than_any_release_is_refused_before_any_member(runner, small_site, keys, tmp_path,
                                                                                     decompressed, monkeypatch):
    """Even a list the key signed may not claim gigabytes: it is held against the limits before any member is read."""
    from generator.release import package

    real = package.sizes_text
    monkeypatch.setattr(package, "sizes_text", lambda contents: real(contents) + f"{9 * GIB}  bomb.bin\n")
    signed = package_site(small_site, tmp_path / "dist", keys / "release.key").tarball
    monkeypatch.setattr(package, "sizes_text", real)
    decompressed[0] = 0
    lines = _verify(runner, signed, "--pubkey", str(keys / "release.pub"))
    assert lines[0].startswith("SIZES: lists ")
    assert lines[0].endswith(f"more than any release holds ({8 * GIB} in all, {GIB} in one): nothing after it was read")
    assert decompressed[0] < 64 << 10


@pytest.mark.parametrize("change", [+1, -1])
def test_a_member_whose_header_differs_from_the_list_is_refused_on_its_header(runner, signed_release, keys, tmp_path,
                                                                             decompressed, change):
    members = _members(signed_release)
    root = members[0][0].name
    position = next(i for i, (m, _) in enumerate(members) if m.name == f"{root}/api/v1/catalog.json")
    data = members[position][1]
    changed = data + b" " if change > 0 else data[:-1]
    target = _write(tmp_path / signed_release.name, [*members[:position], _file(f"{root}/api/v1/catalog.json", changed),
                                                     *members[position + 1:]])
    _sign(target, keys)
    decompressed[0] = 0
    lines = _verify(runner, target, "--pubkey", str(keys / "release.pub"))
    assert set(lines) == {_stopped(target, f"{root}/api/v1/catalog.json", len(changed)),
                          f"{root}/api/v1/catalog.json: size differs from the one SIZES lists (modified, or a decompression bomb)"}
    before = sum(len(d or b"") for _, d in members[:position])
    assert decompressed[0] < before + (1 << 20)  # the members before it, their headers, one read-ahead


def test_a_pax_header_claiming_a_gigabyte_is_not_read(runner, small_release, tmp_path, decompressed):
    """tarfile reads an extended header whole before it returns the member: the stream gives it 2 MiB at most."""
    members = _members(small_release)
    root = _root(members)
    header = tarfile.TarInfo(f"{root}/././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, GIB
    target = _gzip(tmp_path / "t.tar.gz", [_head(small_release), header.tobuf(tarfile.USTAR_FORMAT), None,
                                           bytes(2 * tarfile.BLOCKSIZE)])
    decompressed[0] = 0
    lines = _verify(runner, target)
    assert f"{target}: a tar header is larger than any release holds, or than SIZES allows for: nothing after it was read" in lines
    assert decompressed[0] < 4 << 20


def test_a_release_without_a_size_list_is_refused_with_advice(runner, small_site, tmp_path, decompressed):
    """What `package` wrote before SIZES: the site and SHA256SUMS, in path order."""
    from generator.release.package import checksums_text, site_files, survey_site

    files = site_files(small_site)
    contents = {f"old-1.0.0/{path}": (small_site / path).read_bytes() for path in files}
    contents["old-1.0.0/SHA256SUMS"] = checksums_text(survey_site(small_site, files)).encode()
    old = tmp_path / "old-1.0.0.tar.gz"
    old.write_bytes(reproducible_tarball(contents, 1_700_000_000))
    decompressed[0] = 0
    lines = _verify(runner, old)
    assert lines == [f"{old}: the archive does not begin with its size list SIZES (an earlier mcp-catalog "
                          "packaged it, or it was changed): re-package the site with `mcp-catalog package`; nothing else was read"]
    assert decompressed[0] < 64 << 10
    result = runner.invoke(main, ["diff", str(old), str(old)])  # diff reads a tarball as verify does
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output == (f"Error: {old}: not read as a release: the archive does not begin with its size list SIZES "
                             "(an earlier mcp-catalog packaged it, or it was changed): re-package the site with "
                             f"`mcp-catalog package`; nothing else was read; `mcp-catalog verify {old}` lists every problem\n")
    with tarfile.open(old) as archive:
        archive.extractall(tmp_path / "unpacked", filter="data")
    unpacked = runner.invoke(main, ["diff", str(tmp_path / "unpacked" / "old-1.0.0"), str(small_site)])
    assert unpacked.exit_code == 0, unpacked.output  # such a release is diffed unpacked
    decompressed[0] = 0
    lines = _verify(runner, tmp_path / "unpacked" / "old-1.0.0")
    assert lines == ["SIZES: missing (an earlier mcp-catalog packaged this release, or it was changed): "
                          "re-package the site with `mcp-catalog package` and unpack it again"]


def test_a_signed_release_verifies_reading_only_what_it_lists(runner, signed_release, keys, decompressed):
    decompressed[0] = 0
    result = runner.invoke(main, ["verify", str(signed_release), "--pubkey", str(keys / "release.pub")])
    assert result.exit_code == 0, result.output
    listed = sum(int(line.split("  ", 1)[0]) for line in _members(signed_release)[1][1].decode().splitlines())
    assert decompressed[0] < listed + (1 << 20)
    diff = runner.invoke(main, ["diff", str(signed_release), str(signed_release)])
    assert diff.exit_code == 0, diff.output


def test_a_member_in_an_appended_gzip_member_is_seen_as_tar_sees_it(runner, signed_release, keys, tmp_path):
    """gzip files may hold several members one after the other, and tar unpacks them all; a verify
    reading only the first (tarfile's own stream reader does) would pass a file tar then unpacks."""
    root = _members(signed_release)[0][0].name
    data = signed_release.read_bytes()
    last = data.rfind(b"\x1f\x8b\x08")  # the last gzip member: the end-of-archive blocks
    evil, _ = _file(f"{root}/evil.js", b"steal()")
    appended = evil.tobuf(tarfile.PAX_FORMAT) + b"steal()".ljust(tarfile.BLOCKSIZE, b"\0") + bytes(2 * tarfile.BLOCKSIZE)
    target = tmp_path / signed_release.name
    target.write_bytes(data[:last] + gzip.compress(appended, mtime=0))
    _sign(target, keys)
    if shutil.which("tar"):
        listing = subprocess.run(["tar", "-tzf", str(target)], capture_output=True, text=True).stdout.splitlines()
        assert f"{root}/evil.js" in listing
    lines = _verify(runner, target, "--pubkey", str(keys / "release.pub"))
    assert set(lines) == {_stopped(target, f"{root}/evil.js", 7), f"{root}/evil.js: not listed in SIZES (added after the release was made)"}


def test_a_top_folder_whose_name_is_not_utf8_is_a_message(runner, small_release, tmp_path):
    """tarfile hands such a name over with surrogates; measuring it must not end in a traceback."""
    members = _members(small_release)
    root = _root(members)
    hostile = b"rel\xff".decode("utf-8", "surrogateescape")
    for info, _ in members:
        info.name = hostile + info.name[len(root):]
    target = _write(tmp_path / "t.tar.gz", members, format=tarfile.GNU_FORMAT, encoding="utf-8", errors="surrogateescape")
    result = runner.invoke(main, ["verify", str(target)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    # Unsigned, the renamed tree still matches its SHA256SUMS; what matters is a verdict, not a crash.
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{target}: OK, ") and "signature NOT checked" in result.output


# --- diff and build --previous read a tarball as verify does -----------------------------------

# The child raises its own address-space limit to what it holds once started, plus 256 MiB: a
# reader holding a bomb's bytes in memory dies (a MemoryError), instead of taking the machine's.
_LIMITED = """
import resource, sys
from generator.cli import main
room = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize() + (256 << 20)
resource.setrlimit(resource.RLIMIT_AS, (room, room))
sys.argv[0] = "mcp-catalog"
main()
"""


def _limited(*arguments: object) -> subprocess.CompletedProcess[str]:
    """The CLI with `arguments`, run in a process of limited memory."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-c", _LIMITED, *map(str, arguments)], capture_output=True, text=True,
                          timeout=300, env=environment, cwd=REPO)


def _refused_by_diff_and_build(target: Path, small_site: Path, tmp_path: Path, problem: str) -> None:
    """`diff` and `build --previous` of `target`: one line naming `problem`, exit 1, nothing built."""
    unread = f"Error: {target}: not read as a release: {problem}; `mcp-catalog verify {target}` lists every problem\n"
    for arguments in (["diff", target, small_site], ["diff", small_site, target],
                      ["build", "--source", small_site.parent / "src", "--out", tmp_path / "out", "--previous", target]):
        result = _limited(*arguments)
        assert (result.returncode, result.stderr) == (1, unread), result.stderr[-2000:]
    assert not (tmp_path / "out").exists()


def test_diff_and_build_previous_work_within_the_memory_limit(small_site, small_release, tmp_path):
    """The limit the bombs are read under leaves room for a genuine release."""
    diff = _limited("diff", small_release, small_site)
    assert (diff.returncode, diff.stdout) == (0, "Changes from 1.2.3 to 1.2.3: none that need review\n"), diff.stderr
    build = _limited("build", "--source", small_site.parent / "src", "--out", tmp_path / "out", "--previous", small_release)
    assert build.returncode == 0, build.stderr


def test_diff_and_build_previous_refuse_a_gzip_bomb_in_a_tar_header(small_site, small_release, tmp_path):
    """A PAX header of 1 GiB (1 MB of gzip): tarfile reads it whole before it returns the member, as
    diff's `getmembers` did, in memory."""
    root = _root(_members(small_release))
    header = tarfile.TarInfo(f"{root}/././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, GIB
    target = _gzip(tmp_path / "t.tar.gz", [_head(small_release), header.tobuf(tarfile.USTAR_FORMAT), None,
                                           bytes(2 * tarfile.BLOCKSIZE)])
    _refused_by_diff_and_build(target, small_site, tmp_path, "a tar header is larger than any release holds, or than "
                               "SIZES allows for: nothing after it was read")


def test_diff_and_build_previous_refuse_a_catalog_document_lying_about_its_size(small_site, small_release, tmp_path):
    """SIZES lists catalog.json's real size, its header claims 448 MiB (of zeros): diff read it whole."""
    root = _root(_members(small_release))
    document = tarfile.TarInfo(f"{root}/api/v1/catalog.json")
    document.size = 28 * _ZEROS
    target = _gzip(tmp_path / "t.tar.gz", [_head(small_release), document.tobuf(tarfile.PAX_FORMAT), 28,
                                           bytes(2 * tarfile.BLOCKSIZE)])
    _refused_by_diff_and_build(target, small_site, tmp_path, f"reading stopped at {root}/api/v1/catalog.json, whose "
                               f"header claims {28 * _ZEROS} bytes that SIZES does not allow: nothing after it was read "
                               "(and 1 more problem(s))")
