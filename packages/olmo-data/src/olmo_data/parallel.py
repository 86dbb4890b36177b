"""Shard-parallel processing: one file is one shard, handled by a pool of local processes.

Results come back in shard order whatever the number of workers, and each shard's output files depend only
on that shard, so a run with ``workers=4`` writes exactly what ``workers=1`` writes. Workers are forked
where the platform allows it, so plugins registered at run time are visible to them; elsewhere they start
afresh and load plugins from entry points and ``OLMO_PLUGINS``.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

from olmo_core.errors import ConfigError

__all__ = ["map_shards", "resolve_workers"]

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
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        yield from pool.map(function, shards)
