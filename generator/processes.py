"""The worker pools of the build and the loader: forked, and never outliving their parent.

A worker blocked writing its result into the pipe to a parent that was killed (kill -9,
the OOM killer) would wait forever and keep its share of memory. On Linux each worker asks
the kernel to kill it when its parent dies (`PR_SET_PDEATHSIG`); elsewhere the pool's own
shutdown is all there is.

A worker runs several tasks in turn, each making and dropping a few large files (100 MB
registry documents at 10,000 servers); `release_free_memory` after each task hands what the
C allocator kept of them back to the system, so that the next task does not start from the
last one's high-water mark.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

_PR_SET_PDEATHSIG = 1
T = TypeVar("T")


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of `workers` forked processes that die with the process creating the pool."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )


# Set just before `in_forked_process` forks, so the process inherits the call instead of unpickling it.
_FORKED_CALL: Callable[[], Any] | None = None


def in_forked_process(call: Callable[[], T]) -> T:
    """`call()` run in a forked process, which inherits what it reads (only its result is pickled):
    whatever it leaves to the allocator goes with that process, instead of counting in the size of
    every worker this one forks later."""
    global _FORKED_CALL
    _FORKED_CALL = call
    try:
        with worker_pool(1) as pool:
            return pool.submit(_forked_call).result()
    finally:
        _FORKED_CALL = None


def _forked_call() -> Any:
    assert _FORKED_CALL is not None
    return _FORKED_CALL()


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (AttributeError, OSError):
        return  # not Linux
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def release_free_memory() -> None:
    """Return the C allocator's free pages to the system (glibc's `malloc_trim`; elsewhere nothing)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError):
        return  # not glibc
    trim(0)
