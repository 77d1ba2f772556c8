"""The only code of `mcp-catalog import` and `pin` that changes the source folder: all of a run, or nothing.

Every new file is first written whole to a temporary file beside its target
(`.<name>.import-tmp`: in the same folder, so that renaming it stays on one file
system, and a dot file, which the source loader skips). Only when every one is
written are they renamed into place, one by one in the caller's order. A failure
before the renames removes the temporaries and the folders this run made, so
the source is as it was. A rename replaces a whole file: a kill between two
leaves each file old or new, never cut short, and the caller orders the files so
that every such mixture is a valid source (see `run._new_files`; `pin` edits one
value per file, so any mixture of its files is). What a kill leaves behind is
temporaries, which the next import or pin into the folder removes.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.errors import OutputError, os_advice
from generator.source.load import SERVERS_DIR

LEFTOVER_SUFFIX = ".import-tmp"
WRITTEN_FOLDERS = (SERVERS_DIR, "schemas")
"""The folders below --into that an import writes into (besides --into itself, for catalog.yaml)."""
SCHEMA_FILES = ("server.schema.json", "catalog.schema.json")
"""The editor schemas a new source folder gets, in `schemas/`."""
# Errors that the next file would meet too: one message says it, not one per file.
_FOR_EVERY_FILE = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO)
# Errors creating a new file that every file of the same folder would meet: the folder's permissions
# (a temporary never exists beforehand). One message names the folder.
_FOR_THE_FOLDER = (errno.EACCES, errno.EPERM)


@dataclass(frozen=True)
class Command:
    """The command writing through this module, as its messages name it."""

    name: str
    """`import`, `pin`."""
    done: str
    """Its past participle, as in `nothing imported: <folder> is as it was`."""
    elsewhere: str
    """What to do when the folder cannot take the files (no space, no access)."""

    @property
    def move_it(self) -> str:
        """What to do about something standing where a file goes."""
        return f"move it away, then {self.name} again"


IMPORT = Command("import", "imported", "import into another folder")
PIN = Command("pin", "pinned", "pin a copy of the source in another folder")


@dataclass(frozen=True)
class NewFile:
    """One file an import puts in place: a new one, or the new content of an existing one."""

    path: Path
    content: bytes


def temporary_path(target: Path) -> Path:
    """Where `target`'s new content is written before it is renamed into place."""
    return target.with_name(f".{target.name}{LEFTOVER_SUFFIX}")


def is_leftover(name: str) -> bool:
    """True for the name of a temporary file an import writes (and a killed one leaves)."""
    return name.startswith(".") and name.endswith(LEFTOVER_SUFFIX)


def holds_only_an_interrupted_import(into: Path) -> bool:
    """True when `into` holds nothing but what an import killed before its catalog.yaml was in place
    leaves: temporaries, the folders it writes, the editor schemas (put in place before catalog.yaml,
    see `run._new_files`). That is no source yet, and the same import may start it again."""
    for entry in os.scandir(into):
        if entry.is_dir(follow_symlinks=False) and entry.name in WRITTEN_FOLDERS:
            kept = SCHEMA_FILES if entry.name == "schemas" else ()
            if not all(is_leftover(inner.name) or inner.name in kept for inner in os.scandir(entry.path)):
                return False
        elif not is_leftover(entry.name):
            return False
    return True


def remove_leftovers(into: Path, command: Command = IMPORT) -> list[Path]:
    """Delete the temporaries a killed import or pin left in `into` and the folders it writes; the paths deleted.

    Only files and symbolic links are ours: a folder with such a name is reported when it is in the way."""
    removed: list[Path] = []
    for folder in (into, *(into / name for name in WRITTEN_FOLDERS)):
        if not folder.is_dir():
            continue
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            raise OutputError(_problem(error, folder, "cannot read it", command)) from None
        for entry in entries:
            if is_leftover(entry.name) and not entry.is_dir(follow_symlinks=False):
                try:
                    os.unlink(entry.path)
                except OSError as error:
                    what = "cannot remove this file an interrupted import or pin left"
                    raise OutputError(_problem(error, Path(entry.path), what, command)) from None
                removed.append(Path(entry.path))
    return removed


def put_in_place(into: Path, files: list[NewFile], command: Command = IMPORT) -> list[Path]:
    """Write `files` under `into`, all of them or none; `OutputError` listing every problem otherwise,
    in the words of `command`.

    They are renamed into place in list order: a kill between two renames leaves the first ones new.
    Once the targets are checked, the temporaries a killed import or pin left are removed (even when
    there is nothing to write): the paths removed."""
    check_targets(into, files, command)
    removed = remove_leftovers(into, command) if into.is_dir() else []
    made: list[Path] = []
    staged: list[tuple[Path, Path]] = []
    try:
        problems = _make_folders(sorted({f.path.parent for f in files}), made, command)
        if not problems:
            problems = _stage(files, staged, command)
        if problems:
            raise OutputError("\n".join([*problems, f"nothing {command.done}: {into} is as it was"]))
    except BaseException:  # Ctrl-C too: what is staged is not the source's until it is renamed
        _discard([temporary for temporary, _ in staged], made)
        raise
    _rename_all(into, staged, command)
    return removed


def check_targets(into: Path, files: list[NewFile], command: Command = IMPORT) -> None:
    """Refuse, before writing anything, a target a rename could not replace: every problem at once.
    Writes nothing: a dry run makes the same checks."""
    problems = []
    unusable = set()
    for folder in sorted({f.path.parent for f in files}):
        try:
            if stat.S_ISDIR(folder.stat().st_mode):
                continue
            problems.append(f"{folder}: not a folder, and the {command.name} writes files into it: {command.move_it}")
        except (FileNotFoundError, NotADirectoryError):
            continue  # made by `_make_folders`, which reports what stands in the way
        except OSError as error:  # a link loop: ELOOP, not a missing folder
            problems.append(f"{folder}: cannot look at it: {error.strerror or error}: {command.move_it}")
        unusable.add(folder)
    for item in files:
        if item.path.parent in unusable:
            continue
        try:
            mode = item.path.lstat().st_mode
        except (FileNotFoundError, NotADirectoryError):
            continue
        if stat.S_ISDIR(mode):
            problems.append(f"{item.path}: a folder stands where the {command.name} writes this file: {command.move_it}")
        elif not stat.S_ISREG(mode) and not stat.S_ISLNK(mode):
            problems.append(f"{item.path}: not a regular file, and the {command.name} writes this file: {command.move_it}")
    if problems:
        raise OutputError("\n".join([*problems, f"nothing {command.done}: {into} is as it was"]))


def _make_folders(folders: Iterable[Path], made: list[Path], command: Command) -> list[str]:
    """Create the missing `folders` (and their parents), noting each one made in `made`."""
    for folder in folders:
        missing = [f for f in (folder, *folder.parents) if not f.exists()][::-1]
        for each in missing:
            try:
                each.mkdir()
            except OSError as error:
                return [_problem(error, each, "cannot create it", command)]
            made.append(each)
    return []


def _stage(files: list[NewFile], staged: list[tuple[Path, Path]], command: Command) -> list[str]:
    """Write each file's temporary; the problems met (stopping at one every later file would meet too)."""
    problems = []
    refused: set[Path] = set()
    for item in files:
        if item.path.parent in refused:
            continue
        temporary = temporary_path(item.path)
        try:
            _write_temporary(temporary, item.content, item.path, staged)
        except OSError as error:
            if error.errno in _FOR_THE_FOLDER:
                refused.add(item.path.parent)
                problems.append(_problem(error, item.path.parent, "cannot write files into it", command))
                continue
            problems.append(_problem(error, temporary, "cannot write it", command))
            if error.errno in _FOR_EVERY_FILE:
                break
    return problems


def _write_temporary(temporary: Path, content: bytes, target: Path, staged: list[tuple[Path, Path]]) -> None:
    """`content` in a new file at `temporary`, noted in `staged` as soon as it exists (to be removed on failure).

    O_EXCL and O_NOFOLLOW: never written through a link or into what stood there (leftovers are gone by now).
    An existing target's permission bits carry over, as writing into it kept them. The bytes reach
    the disk before the rename does: otherwise a power cut could leave a renamed file empty."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    descriptor = os.open(temporary, flags, 0o666)
    staged.append((temporary, target))
    with open(descriptor, "wb") as handle:
        if target.is_file():
            os.fchmod(handle.fileno(), stat.S_IMODE(target.stat().st_mode))
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def _rename_all(into: Path, staged: list[tuple[Path, Path]], command: Command) -> None:
    done = 0
    try:
        for temporary, target in staged:
            try:
                _rename(temporary, target)
            except OSError as error:
                reason = _problem(error, target, "cannot put it in place", command)
                outcome = (f"nothing {command.done}: {into} is as it was" if not done else
                           f"the {command.name} stopped after putting {done} of {len(staged)} files in place; {into} is "
                           f"a valid source as it is: run the same {command.name} again to finish it")
                raise OutputError(f"{reason}\n{outcome}") from None
            done += 1
        for folder in sorted({target.parent for _, target in staged}):
            _sync_folder(folder)
    finally:
        _discard([temporary for temporary, _ in staged[done:]], [])


def _sync_folder(folder: Path) -> None:
    """Make the renames into `folder` durable (where the file system lets a folder be synced)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems refuse to sync a folder: the renames are still made
    finally:
        os.close(descriptor)


def _rename(temporary: Path, target: Path) -> None:
    os.replace(temporary, target)


def _discard(temporaries: list[Path], made: list[Path]) -> None:
    """Remove the temporaries, then the folders made for them (newest first, if they are empty)."""
    for temporary in temporaries:
        temporary.unlink(missing_ok=True)
    for folder in reversed(made):
        try:
            folder.rmdir()
        except OSError:
            pass  # not empty: something else was put there meanwhile, and it is not ours to remove


def _problem(error: OSError, path: Path, what: str, command: Command) -> str:
    """`path: what: reason: advice` for an error the operating system reported."""
    if isinstance(error, (FileExistsError, IsADirectoryError)):
        return f"{path}: {what}: something that is not the {command.name}'s stands there: {command.move_it}"
    return f"{path}: {what}: {error.strerror or error}: {os_advice(error, command.elsewhere)}"
