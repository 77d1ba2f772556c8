"""The output folder's lock (`.<name>.lock`, beside it): two builds must never write one folder.

Held with flock(2) for a whole build, whatever the builds' cache folders; `held_lock` is the same
lock for any file (the build cache holds its own with it). A forked worker drops its copies at
once, so a worker outliving a killed build never holds the lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from generator.errors import OutputError, os_errors
from generator.output import CHOOSE_OUT
from generator.output_switch import absolute_out_dir


def output_lock_path(out_dir: Path) -> Path:
    """The lock file of `out_dir`: beside it, so any build of that folder finds it whatever its cache."""
    absolute = absolute_out_dir(out_dir)
    return absolute.parent / f".{absolute.name}.lock"


# The descriptors of the locks held, by the process that took each. A forked worker inherits
# them; if the build were killed while a worker lingers, the worker's copy would hold the lock
# and refuse every later build. Each child closes its copies at once.
_HELD: dict[int, int] = {}


def _drop_inherited_locks() -> None:
    for descriptor in _HELD:
        os.close(descriptor)  # the lock stays with the parent's descriptor
    _HELD.clear()


os.register_at_fork(after_in_child=_drop_inherited_locks)


@contextlib.contextmanager
def held_lock(lock: Path, refusal: str) -> Iterator[None]:
    """Hold an exclusive lock on the file `lock` (made if missing); `OutputError(refusal)` when another process has it."""
    descriptor = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    owner = os.getpid()
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(refusal) from None
        _HELD[descriptor] = owner
        try:
            yield
        finally:
            if _HELD.pop(descriptor, None) == os.getpid():
                fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        if os.getpid() == owner:  # a forked child closed its copy already
            os.close(descriptor)


@contextlib.contextmanager
def output_lock(out_dir: Path) -> Iterator[None]:
    """Hold `out_dir`'s lock for a whole build: two builds must never write one folder."""
    lock = output_lock_path(out_dir)
    refusal = f"another mcp-catalog build is writing {out_dir} (it holds {lock}): wait for it to finish, or build into another --out"
    with contextlib.ExitStack() as held:
        with os_errors("cannot create the lock file", lock, CHOOSE_OUT):  # only taking it: the build's own errors pass
            lock.parent.mkdir(parents=True, exist_ok=True)
            held.enter_context(held_lock(lock, refusal))
        yield

