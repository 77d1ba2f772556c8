"""The only code that writes the output tree (with `output_switch`, which puts it in place, and
`output_lock`, which keeps a second build out).

A build writes the complete new tree into a staging folder beside the target
(`.<name>.tmp-*`) and, only when every renderer succeeded, exchanges it with the
live folder in one step (`output_switch.switch`). A reader (the web server)
therefore sees the old tree or the new one, never a mixture, and a build killed
at any instant leaves one of the two; what an interrupted build left beside the
folder is removed by the next build. A cached rebuild keeps the tree it replaced
as a spare (`.<name>.spare-<id>`) and next time renames that spare into staging
and updates it into the new output: only files whose bytes differ are touched,
each by a new inode (the spare shares the inodes of unchanged files with the
live tree, so nothing is ever written into an existing file). The writer refuses a second
write to the same path (two servers whose names collide after slugging must fail loudly, not
overwrite each other), paths that would leave the output folder, and output folders whose replacement
would destroy something that is not a build.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

from generator.errors import OutputError, os_errors
from generator.output_switch import (
    absolute_out_dir, new_spare_id, remove_leftovers, remove_tree, spare_folder, staging_prefix, switch,
)
from generator.paths import CATALOG_JSON

# A folder we may replace holds this file, which every build writes.
BUILD_MARKER = CATALOG_JSON
CHOOSE_OUT = "choose another --out"


@dataclass(frozen=True, slots=True)  # slots: a build keeps one per file, 330,000 at 10,000 servers
class WrittenFile:
    """What the build wrote to one path: its SHA-256 and size (for indexes and checksums)."""

    sha256: str
    size: int


class Stream(Protocol):
    """Bytes made while they are written (`generator.render.encoding.Spliced`, a query index): a
    whole-catalog document, 100 MB at 10,000 servers, goes to disk piece by piece, never held whole."""

    def chunks(self) -> Iterable[bytes]: ...


@dataclass(frozen=True)
class OutputFile:
    """One file of the output: a relative POSIX path and its bytes, or a `Stream` of them."""

    path: str
    body: bytes | Stream

    @property
    def content(self) -> bytes:
        """The file's bytes, a stream's joined (for whoever reads a file whole: tests, an archive)."""
        return self.body if isinstance(self.body, bytes) else b"".join(self.body.chunks())


Stamp = int
"""A file's modification time, change time (ns) and inode packed into one integer (`stamp_of`):
what the skip rule compares (`cache.OnDisk`). A rebuild at 10,000 servers holds one for each of
110,000 files, twice (the cache's and the spare's survey); one integer takes a quarter of the
memory of a tuple of the three, a sixth of an `os.stat_result`."""
MISFIT: Stamp = -1
"""What `survey_spare` found where a file is not a regular one of mode 0644 and the recorded size."""


def stamp_of(status: os.stat_result) -> Stamp:
    return (status.st_mtime_ns << 128) | (status.st_ctime_ns << 64) | status.st_ino


def modified_ns(stamp: Stamp) -> int:
    """The modification time (ns) in `stamp`."""
    return stamp >> 128


def fitting_stamp(status: os.stat_result, record: WrittenFile) -> Stamp:
    """`stamp_of(status)`, or MISFIT when it is no regular file of mode 0644 and the size of `record`."""
    if not stat.S_ISREG(status.st_mode) or stat.S_IMODE(status.st_mode) != 0o644 or status.st_size != record.size:
        return MISFIT
    return stamp_of(status)


class HeldFiles(Protocol):
    """What a tree holds as recorded: path -> its record, or something unequal to any record."""

    def get(self, path: str, /) -> WrittenFile | None: ...


@dataclass(frozen=True)
class Spare:
    """The tree a rebuild updates in place instead of staging a complete new one (see `OutputTree`)."""

    folder: Path
    """Where the spare is now (`spare_folder`); the build renames it into staging."""
    holds: HeldFiles
    """Its files that are on disk as the cache recorded them."""
    found: Mapping[str, Stamp]
    """Every file it holds after `survey_spare`, with its stamp or MISFIT (those the new output lacks are deleted)."""


def check_output_dir(out_dir: Path, source_dir: Path) -> None:
    """Refuse output folders whose replacement would destroy the source or a home."""
    out, source = out_dir.resolve(), source_dir.resolve()
    forbidden = {Path("/"), Path.home().resolve()}
    if out in forbidden:
        raise OutputError(f"refusing to write the site into {out}: choose a dedicated folder such as ./site")
    if out == source or source.is_relative_to(out):
        raise OutputError(f"refusing to write the site into {out}: it holds the source folder {source}")
    if out.is_relative_to(source):
        raise OutputError(f"refusing to write the site into {out}: it is inside the source folder {source}")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / BUILD_MARKER).is_file():
        raise OutputError(f"{out} is not empty and was not written by mcp-catalog: choose a new or empty folder")


class OutputTree:
    """A context manager collecting a build's files and switching them in on success.

    Without a spare, the build stages the complete new tree. Given `previous` (what the
    folder holds now, from the build cache), a file whose bytes are already there is not
    written again: on success it is hard-linked from the live folder into staging.

    With a `spare` (the tree the last switch replaced, and what of it is on disk as
    recorded), the spare is renamed into staging and updated: a file it holds as recorded
    stays, one the live folder holds is hard-linked from there, any other is written, and
    its files the new output lacks are deleted. A file is always replaced by a new inode,
    never rewritten in place, because the spare shares unchanged files' inodes with the
    live tree.

    Then one atomic exchange puts the staged tree in place. The old tree is deleted; or,
    given `keep_old` (the records of its files), it loses the files whose bytes the new tree
    does not have and becomes the next spare (`spare_id` names it), which so costs no disk
    space of its own. Nothing in the output folder changes before every renderer succeeded,
    and the switch is a single system call.
    """

    def __init__(
        self, out_dir: Path, previous: HeldFiles | None = None, spare: Spare | None = None,
        keep_old: Mapping[str, WrittenFile] | None = None,
    ) -> None:
        self.out_dir = absolute_out_dir(out_dir)
        self.previous = previous
        self.spare = spare
        self.keep_old = keep_old
        self.spare_id: str | None = None
        """The id of the spare this build left (`spare_folder`), None when it left none."""
        self.written: dict[str, WrittenFile] = {}
        self.staged: set[str] = set()
        """Paths whose bytes this build wrote (the others were in the spare, or are linked from the live folder)."""
        self._staging: Path | None = None
        self._folders: set[str] = set()  # folders known to exist in staging (per process)

    def __enter__(self) -> OutputTree:
        with os_errors("cannot create a staging folder", self.out_dir.parent, CHOOSE_OUT):
            self.out_dir.parent.mkdir(parents=True, exist_ok=True)
            remove_leftovers(self.out_dir, keep=self.spare.folder if self.spare else None)
            self._staging = Path(tempfile.mkdtemp(prefix=staging_prefix(self.out_dir), dir=self.out_dir.parent))
            if self.spare is not None:
                # From here on a kill leaves the spare as a staging leftover, which the next build
                # deletes: it never again looks like a spare the cache describes.
                os.rename(self.spare.folder, self._staging)  # onto the empty folder mkdtemp reserved
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._staging is not None
        try:
            if kind is None:
                with os_errors("cannot put the new output in place in", self.out_dir.parent, CHOOSE_OUT):
                    _refuse_a_file_where_a_folder_goes(self.written)
                    if self.spare is None:
                        self._link_unchanged()
                    else:
                        _delete_files(self._staging, self.spare.found.keys() - self.written.keys())
                    os.chmod(self._staging, 0o755)
                    replaced = switch(self._staging, self.out_dir)
                if replaced and os.path.islink(self._staging):
                    # --out was a symbolic link, and the exchange moved the link here: what it points
                    # to is not a tree of ours to prune into a spare.
                    os.unlink(self._staging)
                elif replaced and self.keep_old is not None:
                    self.spare_id = self._keep_old_as_spare(self.keep_old)
        finally:
            remove_tree(self._staging)  # the old tree after a switch (unless kept), else the staged one

    def _keep_old_as_spare(self, old_files: Mapping[str, WrittenFile]) -> str | None:
        """Turn the old tree (now at the staging path) into the next spare; its id, None when it cannot.

        Only its files whose bytes the new tree has too stay: those are the new tree's very inodes
        (kept or hard-linked), so the spare costs no space. The new output is already in place, so
        a failure here only costs the spare (the next build stages a complete tree)."""
        assert self._staging is not None
        written = self.written
        try:
            _delete_files(self._staging, [path for path, record in old_files.items() if written.get(path) != record])
            spare_id = new_spare_id()
            os.rename(self._staging, spare_folder(self.out_dir, spare_id))
        except OSError:
            return None
        return spare_id

    def write(self, item: OutputFile) -> None:
        """Write one file into the staging folder; each path exactly once."""
        assert self._staging is not None, "OutputTree.write outside its `with` block"
        relative = _safe_relative(item.path)
        if relative in self.written:
            raise OutputError(f"two outputs want the same path {relative}: rename one of the servers involved")
        if isinstance(item.body, bytes):
            self._put(relative, WrittenFile(hashlib.sha256(item.body).hexdigest(), len(item.body)), item.body)
            return
        # A stream is written as it is made, into a file of its own beside the tree, then renamed
        # into place, or dropped when the output holds those bytes already: its record (the hash)
        # is known only once every byte has gone by.
        target = self._staged_path(relative)
        assert self._staging is not None
        partial = os.path.join(self._staging, f".partial-{os.getpid()}")
        with os_errors("cannot write the output file", target, CHOOSE_OUT):
            try:
                record = _write_stream(partial, item.body)
                self._put(relative, record, partial)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(partial)

    def _put(self, relative: str, record: WrittenFile, content: bytes | str) -> None:
        """Record `relative` and stage its bytes (`content`, or the file at that path, moved), unless
        the spare or the live folder holds them already."""
        self.written[relative] = record
        if self.spare is not None and self.spare.holds.get(relative) == record:
            return  # staging (the spare) holds these bytes already
        if self.previous is not None and self.previous.get(relative) == record:
            if self.spare is not None:
                self._link_from_live(relative)
            return  # without a spare: linked into staging at the end
        target = self._staged_path(relative)
        with os_errors("cannot write the output file", target, CHOOSE_OUT):
            if isinstance(content, bytes):
                _write_new_file(target, content)
            else:
                # A new inode (the spare's file may be the live tree's), moved within staging: not
                # one of the renames that switch trees (tests/test_reliability_switch.py counts those).
                _remove_entry(target)
                os.replace(content, target)
        self.staged.add(relative)

    def keep(self, files: Mapping[str, WrittenFile]) -> None:
        """Claim files the output folder (or the spare) already holds unchanged (a cached server's), as if written."""
        if self.spare is not None:
            for path, record in files.items():
                if self.spare.holds.get(path) != record:
                    self._link_from_live(path)
        self.merge(files)

    def branch(self) -> OutputTree:
        """A writer into the same staging folder with its own records, for a worker process."""
        assert self._staging is not None, "OutputTree.branch outside its `with` block"
        child = OutputTree(self.out_dir, self.previous, self.spare)
        child._staging = self._staging
        child._folders = self._folders
        return child

    def merge(self, written: Mapping[str, WrittenFile], staged: set[str] | frozenset[str] = frozenset()) -> None:
        """Take over the records of files a branch wrote, still refusing a path written twice."""
        for path in sorted(written):
            if path in self.written:
                raise OutputError(f"two outputs want the same path {path}: rename one of the servers involved")
            self.written[path] = written[path]
        self.staged |= staged

    def _staged_path(self, relative: str) -> str:
        """Where `relative` goes in staging, its folder made (one mkdir per folder: most files share theirs)."""
        assert self._staging is not None
        folder, _, _ = relative.rpartition("/")
        if folder not in self._folders:
            with os_errors("cannot create the output folder", os.path.join(self._staging, folder), CHOOSE_OUT):
                _make_folder(self._staging, folder)
            self._folders.add(folder)
        return os.path.join(self._staging, relative)

    def _link_from_live(self, relative: str) -> None:
        """Replace the spare's file at `relative` by a hard link to the live folder's (which holds the new bytes)."""
        target = self._staged_path(relative)
        with os_errors("cannot write the output file", target, CHOOSE_OUT):
            _remove_entry(target)
            _link_or_copy(os.path.join(self.out_dir, relative), target)

    def _link_unchanged(self) -> None:
        """Hard-link the files this build claims but did not stage from the live folder into staging."""
        for relative in sorted(set(self.written) - self.staged):
            _link_or_copy(os.path.join(self.out_dir, relative), self._staged_path(relative))


def _refuse_a_file_where_a_folder_goes(written: Mapping[str, WrittenFile]) -> None:
    """Fail when one output's path is the folder of another's (`a/b` and `a/b/c`).

    Writing makes room by removing what stands in the way (a spare may hold a file where the new
    output has a folder), so such a clash between two outputs of this build is caught here, from
    the records, before anything is switched in."""
    clashes = sorted(_folders_of(written) & written.keys())
    if clashes:
        inner = min(path for path in written if path.startswith(clashes[0] + "/"))
        raise OutputError(f"two outputs want the same path {clashes[0]}, one as a file and one as the folder of {inner}: "
                          "rename one of the servers (or versions) involved")


def _link_or_copy(source: str, target: str) -> None:
    """A hard link at `target` (which must not exist) to `source`, or a copy where links are refused."""
    try:
        os.link(source, target)
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copyfile(source, target)  # a file system without hard links: the same bytes, copied


def _write_new_file(target: str, content: bytes) -> None:
    """`content` at `target` as a new file (mode 0644), whatever stood there before.

    O_EXCL: an existing file may share its inode with the live tree, so it is unlinked,
    never truncated; and the new file is never reached through a symbolic link.
    """
    try:
        handle = open(target, "xb")
    except FileExistsError:
        _remove_entry(target)
        handle = open(target, "xb")
    with handle:
        handle.write(content)
        os.fchmod(handle.fileno(), 0o644)


def _write_stream(target: str, stream: Stream) -> WrittenFile:
    """`stream`'s bytes as a new file at `target` (mode 0644, as `_write_new_file`); their record."""
    digest, size = hashlib.sha256(), 0
    _remove_entry(target)  # one a killed build left
    with open(target, "xb") as handle:
        for chunk in stream.chunks():
            digest.update(chunk)
            size += len(chunk)
            handle.write(chunk)
        os.fchmod(handle.fileno(), 0o644)
    return WrittenFile(digest.hexdigest(), size)


def _remove_entry(path: str) -> None:
    """Remove what stands at `path` (a file, a symbolic link, a folder and its content), if anything,
    in a tree of ours: a folder someone made read-only is given its owner's rights back."""
    try:
        os.unlink(path)
        return
    except FileNotFoundError:
        return
    except (IsADirectoryError, PermissionError):  # Linux says EISDIR, POSIX allows EPERM, for a folder
        if not os.path.isdir(path) or os.path.islink(path):
            _give_owner_rights(os.path.dirname(path))
            os.unlink(path)
            return
    remove_tree(Path(path))
    if os.path.lexists(path):
        raise OSError(errno.ENOTEMPTY, "cannot remove it", path)


def _give_owner_rights(folder: str) -> None:
    mode = stat.S_IMODE(os.lstat(folder).st_mode)
    if mode & 0o700 != 0o700:
        os.chmod(folder, mode | 0o700)


def _make_folder(root: str, folder: str) -> None:
    """`root/folder` as a folder, removing a file or symbolic link that stands where one of its folders goes."""
    try:
        os.makedirs(os.path.join(root, folder), exist_ok=True)
        return
    except (FileExistsError, NotADirectoryError):
        pass  # a spare may hold a file where the new output has a folder
    path = root
    for part in folder.split("/"):
        path = os.path.join(path, part)
        try:
            found = os.lstat(path)
        except FileNotFoundError:
            os.makedirs(path, exist_ok=True)  # another worker may make it at the same moment
            continue
        if not stat.S_ISDIR(found.st_mode):
            with contextlib.suppress(FileNotFoundError):  # or remove the file first
                os.unlink(path)
            os.makedirs(path, exist_ok=True)


def survey_spare(folder: Path, expected: Mapping[str, WrittenFile]) -> dict[str, Stamp]:
    """The `fitting_stamp` of every regular file of the spare at `folder` whose path is `expected`.

    Everything else is deleted on the way: files the cache does not know (an extra file),
    symbolic links, other special files, and folders holding no expected file. After it, the
    spare holds only real folders and regular files at expected paths, so nothing the build
    later does to it can reach through a link out of it.
    """
    wanted_folders = _folders_of(expected) | {""}
    found: dict[str, Stamp] = {}
    _give_owner_rights(os.fspath(folder))
    pending = [""]
    while pending:
        relative_folder = pending.pop()
        with os.scandir(os.path.join(folder, relative_folder)) as entries:
            for entry in entries:
                relative = f"{relative_folder}/{entry.name}" if relative_folder else entry.name
                if entry.is_dir(follow_symlinks=False) and relative in wanted_folders:
                    _make_traversable(entry)
                    pending.append(relative)
                elif entry.is_file(follow_symlinks=False) and (record := expected.get(relative)) is not None:
                    found[relative] = fitting_stamp(entry.stat(follow_symlinks=False), record)
                else:
                    _remove_entry(entry.path)
    # A folder whose expected files are all gone would reach the new output empty: no build makes one.
    _remove_emptied_folders(os.fspath(folder), [path for path in expected if path not in found])
    return found


def _make_traversable(entry: os.DirEntry[str]) -> None:
    """Give a spare's folder that someone made read-only its owner's rights back, so the build can update it."""
    mode = stat.S_IMODE(entry.stat(follow_symlinks=False).st_mode)
    if mode & 0o700 != 0o700:
        os.chmod(entry.path, mode | 0o700)


def _delete_files(root: Path, paths: Collection[str]) -> None:
    """Delete `paths` below `root` and then the folders that left empty (a new output never has an empty folder)."""
    for relative in paths:
        _remove_entry(os.path.join(root, relative))
    _remove_emptied_folders(os.fspath(root), paths)


def _folders_of(paths: Iterable[str]) -> set[str]:
    """Every folder holding one of `paths`, at any depth (not the root, "")."""
    folders: set[str] = set()
    for path in paths:
        folder = path.rpartition("/")[0]
        while folder and folder not in folders:
            folders.add(folder)
            folder = folder.rpartition("/")[0]
    return folders


def _remove_emptied_folders(root: str, paths: Collection[str]) -> None:
    """Remove the folders of `paths` (files just removed or missing) that are now empty, the deepest first."""
    for folder in sorted(_folders_of(paths), key=lambda name: name.count("/"), reverse=True):
        _remove_if_empty(os.path.join(root, folder))


def _remove_if_empty(folder: str) -> None:
    try:
        try:
            os.rmdir(folder)
        except PermissionError:
            _give_owner_rights(os.path.dirname(folder))  # a read-only parent, in a tree of ours
            os.rmdir(folder)
    except OSError as error:
        if error.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT, errno.ENOTDIR):
            raise


def _safe_relative(path: str) -> str:
    """`path` as a normalised relative POSIX path, refused when it could leave the output folder."""
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if path.startswith("/") or ".." in parts or "\\" in path or not parts or "\0" in path:
        raise OutputError(f"refusing output path {path!r}: it would leave the output folder")
    return "/".join(parts)
