"""What lies beside an output folder (staging, an old tree mid-switch, spares) and the switch itself.

The output folder is replaced in one `renameat2(RENAME_EXCHANGE)` call with the staging folder
beside it (`.<name>.tmp-*`), so a reader sees the old tree or the new one, never a mixture; where
the file system cannot exchange, the old tree is renamed aside (`.<name>.old-*`) first, and a kill
between the two renames is repaired by the next build. A cached rebuild's spare tree lies beside
the output too (`.<name>.spare-<id>`). Nothing here writes inside a tree: that is `output`'s.
"""

from __future__ import annotations

import ctypes
import errno
import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable
from glob import escape as glob_escape
from pathlib import Path


def remove_leftovers(out_dir: Path, keep: Path | None = None) -> None:
    """Delete what interrupted builds of `out_dir` left beside it, and every spare but `keep` (call with the output lock held)."""
    _restore_half_switched(out_dir)
    for prefix in (staging_prefix(out_dir), _retired_prefix(out_dir), _spare_prefix(out_dir)):
        for leftover in out_dir.parent.glob(f"{glob_escape(prefix)}*"):
            if leftover != keep:
                remove_tree(leftover)


def spare_folder(out_dir: Path, spare_id: str) -> Path:
    """Where the spare `spare_id` of `out_dir` lies (beside it, hidden; the build cache names the id)."""
    if not _SPARE_ID.fullmatch(spare_id):
        raise ValueError(f"not a spare id: {spare_id!r}")
    absolute = absolute_out_dir(out_dir)
    return absolute.parent / f"{_spare_prefix(absolute)}{spare_id}"


def new_spare_id() -> str:
    """A fresh id: a spare left by a build the cache does not describe never matches the state's."""
    return secrets.token_hex(8)


_SPARE_ID = re.compile(r"[0-9a-f]{16}")


def remove_tree(folder: Path) -> None:
    """Delete `folder` as far as possible, its read-only subfolders too (a user may have chmod'ed one)."""
    top = os.fspath(folder)

    def writable_then_again(function: Callable[[str], object], failed: str, _: object) -> None:
        try:
            for path in (os.path.dirname(failed), failed):  # never above `folder`: not ours to change
                inside = path == top or path.startswith(top + os.sep)
                if inside and os.path.isdir(path) and not os.path.islink(path):
                    os.chmod(path, 0o700)
            function(failed)
        except OSError:
            pass  # left for the next build to try again

    if os.path.islink(folder):
        os.unlink(folder)  # rmtree refuses a link: the link goes, never what it points to
    elif os.path.lexists(folder):
        shutil.rmtree(folder, onerror=writable_then_again)


def switch(staging: Path, out_dir: Path) -> bool:
    """Put the tree in `staging` at `out_dir` in one step; the old tree, if any, ends up at `staging`
    (True) or there was none (False).

    Linux exchanges two folders atomically (renameat2 with RENAME_EXCHANGE). Where the file
    system cannot, the old folder is first renamed aside into `.<name>.old-*`, then the new
    one into place: a kill between the two is repaired by the next build (`remove_leftovers`).
    """
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return False
    if _exchange(staging, out_dir):
        return True
    retired = Path(tempfile.mkdtemp(prefix=_retired_prefix(out_dir), dir=out_dir.parent))
    os.rename(out_dir, retired / "tree")
    os.rename(staging, out_dir)
    os.rename(retired / "tree", staging)
    os.rmdir(retired)
    return True


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically; False when this system or file system cannot."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _restore_half_switched(out_dir: Path) -> None:
    """After a kill between the two renames of a fallback switch, put the old tree back."""
    if out_dir.exists():
        return
    for retired in sorted(out_dir.parent.glob(f"{glob_escape(_retired_prefix(out_dir))}*")):
        if (retired / "tree").is_dir():
            os.rename(retired / "tree", out_dir)
            return


def _load_renameat2() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _load_renameat2()
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def absolute_out_dir(out_dir: Path) -> Path:
    """`out_dir` made absolute without following a symlink (".", "a/.." get their real name)."""
    return Path(os.path.abspath(out_dir))


def staging_prefix(out_dir: Path) -> str:
    return f".{out_dir.name}.tmp-"


def _retired_prefix(out_dir: Path) -> str:
    return f".{out_dir.name}.old-"


def _spare_prefix(out_dir: Path) -> str:
    return f".{out_dir.name}.spare-"

