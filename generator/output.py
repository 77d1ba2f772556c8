"""The only code that touches the output tree.

A build writes every file into a fresh temporary folder beside the target and
swaps it in only when all renderers succeeded, so a failed build leaves the
previous output exactly as it was. The writer refuses a second write to the
same path (two servers whose names collide after slugging must fail loudly,
not overwrite each other), paths that would leave the output folder, and
output folders whose replacement would destroy something that is not a build.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from generator.errors import OutputError

from generator.paths import CATALOG_JSON

# A folder we may replace holds this file, which every build writes.
BUILD_MARKER = CATALOG_JSON


@dataclass(frozen=True, slots=True)  # slots: a build keeps one per file, 330,000 at 10,000 servers
class WrittenFile:
    """What the build wrote to one path: its SHA-256 and size (for indexes and checksums)."""

    sha256: str
    size: int


@dataclass(frozen=True)
class OutputFile:
    """One file of the output: a relative POSIX path and its bytes."""

    path: str
    content: bytes


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
    """A context manager collecting a build's files and putting them in place on success.

    A cold build writes every file into staging and swaps the whole folder in. Given
    `previous` (what the folder holds now, from the build cache), the tree updates the
    folder instead: a file whose bytes are already there is not written again, only the
    new and changed files go through staging, and on success they are moved into place
    and the files no build output claims any more are deleted. Either way nothing in
    the output folder changes before every renderer succeeded.
    """

    def __init__(self, out_dir: Path, previous: Mapping[str, WrittenFile] | None = None) -> None:
        self.out_dir = out_dir
        self.previous = previous
        self.written: dict[str, WrittenFile] = {}
        self.staged: set[str] = set()
        self._staging: Path | None = None
        self._folders: set[str] = set()  # folders known to exist in staging (per process)

    def __enter__(self) -> OutputTree:
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self._staging = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.tmp-", dir=self.out_dir.parent))
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._staging is not None
        if kind is None and self.previous is None:
            self._swap_in()
            return
        try:
            if kind is None:
                self._update_in_place()
        finally:
            shutil.rmtree(self._staging, ignore_errors=True)

    def write(self, item: OutputFile) -> None:
        """Write one file into the staging folder; each path exactly once."""
        assert self._staging is not None, "OutputTree.write outside its `with` block"
        relative = _safe_relative(item.path)
        if relative in self.written:
            raise OutputError(f"two outputs want the same path {relative}: rename one of the servers involved")
        record = WrittenFile(hashlib.sha256(item.content).hexdigest(), len(item.content))
        self.written[relative] = record
        if self.previous is not None and self.previous.get(relative) == record:
            return  # the output folder already holds these bytes
        folder, _, _ = relative.rpartition("/")
        if folder not in self._folders:  # one mkdir per folder, not per file: most share theirs
            os.makedirs(os.path.join(self._staging, folder), exist_ok=True)
            self._folders.add(folder)
        target = os.path.join(self._staging, relative)
        with open(target, "wb") as handle:
            handle.write(item.content)
        os.chmod(target, 0o644)
        self.staged.add(relative)

    def keep(self, files: Mapping[str, WrittenFile]) -> None:
        """Claim files the output folder already holds unchanged (a cached server's), as if written."""
        self.merge(files)

    def branch(self) -> OutputTree:
        """A writer into the same staging folder with its own records, for a worker process."""
        assert self._staging is not None, "OutputTree.branch outside its `with` block"
        child = OutputTree(self.out_dir, self.previous)
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

    def _swap_in(self) -> None:
        assert self._staging is not None
        os.chmod(self._staging, 0o755)
        previous = None
        if self.out_dir.exists():
            previous = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.old-", dir=self.out_dir.parent))
            os.rename(self.out_dir, previous / "site")
        os.rename(self._staging, self.out_dir)
        if previous:
            shutil.rmtree(previous, ignore_errors=True)


    def _update_in_place(self) -> None:
        """Move the staged files into the output folder, then delete the files no longer produced."""
        assert self._staging is not None and self.previous is not None
        for relative in sorted(self.staged):
            target = self.out_dir / relative
            _clear_the_way(target, self.out_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._staging / relative, target)
        for relative in sorted(set(self.previous) - set(self.written)):
            if _within_real_folders(self.out_dir / relative, self.out_dir):
                _remove(self.out_dir / relative)
                _remove_empty_folders((self.out_dir / relative).parent, self.out_dir)


# --- repairing a damaged output (issue 14): a rebuild writes over whatever stands in a file's way ---
def _clear_the_way(target: Path, root: Path) -> None:
    """Remove what stands where `target` goes: a file or symlink where one of its folders
    should be (never write through a link out of the output), and a folder at its own path."""
    for folder in reversed(target.relative_to(root).parents[:-1]):
        where = root / folder
        if where.is_symlink() or (where.exists() and not where.is_dir()):
            where.unlink()
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)


def _within_real_folders(target: Path, root: Path) -> bool:
    """Whether every folder between `root` and `target` is a real folder (not a link out of the output)."""
    return all((root / folder).is_dir() and not (root / folder).is_symlink() for folder in target.relative_to(root).parents[:-1])


def _remove(target: Path) -> None:
    """Delete a file the build no longer produces, or the folder someone put in its place."""
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)
# --- end of repairing a damaged output ---


def _remove_empty_folders(folder: Path, root: Path) -> None:
    """Remove `folder` and its parents up to (not including) `root` while they are empty."""
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _safe_relative(path: str) -> str:
    """`path` as a normalised relative POSIX path, refused when it could leave the output folder."""
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if path.startswith("/") or ".." in parts or "\\" in path or not parts or "\0" in path:
        raise OutputError(f"refusing output path {path!r}: it would leave the output folder")
    return "/".join(parts)
