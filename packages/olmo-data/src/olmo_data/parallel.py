"""Shard-parallel processing: one file is one shard, handled by a pool of local processes.

Results come back in shard order whatever the number of workers, and each shard's output files depend only
on that shard, so a run with ``workers=4`` writes exactly what ``workers=1`` writes. Workers are forked
where the platform allows it, so plugins registered at run time are visible to them; elsewhere they start
afresh and load plugins from entry points and ``OLMO_PLUGINS``. Workers end with their parent, even when it
is killed (:func:`die_with_parent`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from olmo_core.errors import ConfigError

__all__ = ["die_with_parent", "map_shards", "resolve_workers"]

_PR_SET_PDEATHSIG = 1
T = TypeVar("T")
R = TypeVar("R")


def resolve_workers(workers: int, shards: int) -> int:
    """``workers`` (0 means one per CPU core), never more than there are shards."""
    if workers < 0:
        raise ConfigError(f"workers must be 0 (one per CPU core) or more, not {workers}")
    count = workers or os.cpu_count() or 1
    return max(1, min(count, shards))


def map_shards(function: Callable[[T], R], shards: Sequence[T], *, workers: int) -> Iterator[R]:
    """``function`` over ``shards`` with up to ``workers`` processes, yielding results in shard order."""
    count = resolve_workers(workers, len(shards))
    if count == 1:
        yield from map(function, shards)
        return
    methods = multiprocessing.get_all_start_methods()
    context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ProcessPoolExecutor(max_workers=count, mp_context=context, initializer=die_with_parent,
                             initargs=(os.getpid(),)) as pool:
        yield from pool.map(function, shards)


def die_with_parent(parent: int) -> None:
    """Make this worker process end when ``parent`` does, even when it is killed (SIGKILL leaves no orphans):
    Linux delivers SIGKILL to it then; elsewhere a daemon thread polls for the parent every second."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0
    except (OSError, AttributeError, TypeError):
        armed = False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch, args=(parent,), daemon=True, name="olmo-parent-watch").start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
