"""The only code of `package` that writes into --out: every file of a release, or none.

Each file is written to a temporary in its target's folder (the same file system, so a rename
moves it): an unnamed one (`O_TMPFILE`) where the file system allows and /proc is mounted (it
names the file), which vanishes with the process however it ends, else `.<name>.package-tmp`.
Only when every file is complete and on disk (fsync) is each given its name, by a rename that
replaces the old file whole. A full disk,
an unreadable site file or a kill before that leaves --out as it was; a kill during the renames
(microseconds) leaves each file old or new, never cut short, and a signature that no longer
matches, which `verify` reports. What a kill leaves under a temporary name the next `package`
into the folder removes.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

LEFTOVER_SUFFIX = ".package-tmp"
# What open(2) says when a file system cannot make unnamed files.
_NO_UNNAMED_FILES = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL)
_OWN_DESCRIPTORS = "/proc/self/fd"


def temporary_path(target: Path) -> Path:
    """The name `target`'s new content has between being written and being renamed into place."""
    return target.with_name(f".{target.name}{LEFTOVER_SUFFIX}")


def remove_leftovers(folder: Path) -> None:
    """Delete the temporaries a killed `package` left in `folder`: those of any release, not only the
    one being packaged (a killed 1.1 leaves `.<name>-1.1.tar.gz.package-tmp`, as large as its
    tarball, and the next release packaged is 1.2)."""
    for leftover in sorted(folder.glob(f".*{LEFTOVER_SUFFIX}")):
        leftover.unlink(missing_ok=True)


@dataclass
class StagedFile:
    """A file being written for `target`: not in --out under any name a reader looks at."""

    target: Path
    handle: BinaryIO
    named: bool
    """Written under `temporary_path(target)`, not unnamed."""


class Staging:
    """The temporaries of one release, given their names together by `put_in_place`."""

    def __init__(self) -> None:
        self._files: list[StagedFile] = []

    def create(self, target: Path) -> BinaryIO:
        """A new, empty temporary for `target`, open for writing."""
        descriptor = _unnamed_file(target.parent)
        named = descriptor is None
        if descriptor is None:
            descriptor = os.open(temporary_path(target), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        staged = StagedFile(target, os.fdopen(descriptor, "wb"), named)
        self._files.append(staged)
        return staged.handle

    def put_in_place(self, order: list[Path], remove_first: Mapping[Path, Path]) -> None:
        """fsync every temporary, then rename each onto its target in `order`, deleting the file
        `remove_first[target]` names (a signature the new bytes make stale) before that target's rename."""
        for staged in self._files:
            staged.handle.flush()
            os.fsync(staged.handle.fileno())
        by_target = {staged.target: staged for staged in self._files}
        folder = os.open(order[0].parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for target in order:
                if target in remove_first:
                    remove_first[target].unlink(missing_ok=True)
                if target in by_target:
                    _rename_into_place(by_target[target], folder)
            os.fsync(folder)
        finally:
            os.close(folder)

    def discard(self) -> None:
        """Close and delete every temporary not yet in place."""
        for staged in self._files:
            staged.handle.close()
            if staged.named:
                temporary_path(staged.target).unlink(missing_ok=True)


@contextmanager
def staging() -> Iterator[Staging]:
    """A `Staging` whose temporaries are deleted when the block ends without putting them in place
    (an error, Ctrl-C)."""
    files = Staging()
    try:
        yield files
    except BaseException:
        files.discard()
        raise


def _unnamed_file(folder: Path) -> int | None:
    """An unnamed file in `folder` (O_TMPFILE), open for writing; None where the file system cannot
    make one, or where /proc, through which it gets its name (`_rename_into_place`), is not mounted
    (a sandbox or chroot): the whole release would be written, then fail to be named."""
    if not os.path.isdir(_OWN_DESCRIPTORS):
        return None
    try:
        return os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o666)
    except OSError as error:
        if error.errno not in _NO_UNNAMED_FILES:
            raise
        return None


def _rename_into_place(staged: StagedFile, folder: int) -> None:
    """Give `staged` its target's name (`folder` is the target's folder, open)."""
    temporary = temporary_path(staged.target)
    if not staged.named:
        # An unnamed file gets a name by a link from /proc (open(2), O_TMPFILE); a link cannot
        # replace a file, so it gets the temporary name, and the rename replaces the target. A
        # folder descriptor makes os.link call linkat, which follows the /proc link to the file.
        os.link(f"{_OWN_DESCRIPTORS}/{staged.handle.fileno()}", temporary.name, dst_dir_fd=folder)
        staged.named = True
    staged.handle.close()
    os.replace(temporary, staged.target)
