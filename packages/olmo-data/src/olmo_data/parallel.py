"""Shard-parallel processing: one file is one shard, handled by a pool of local processes.

Results come back in shard order whatever the number of workers, and each shard's output files depend only
on that shard, so a run with ``workers=4`` writes exactly what ``workers=1`` writes. Workers are forked
where the platform allows it, so plugins registered at run time are visible to them; elsewhere they start
afresh and load plugins from entry points and ``OLMO_PLUGINS``. Workers end with their parent, even when it
is killed (:func:`die_with_parent`). Progress is counted per document as workers read (:func:`read_counted`).
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
from concurrent.futures import ProcessPoolExecutor, wait
from typing import Any, TypeVar

from olmo_core.documents import Document, Quarantined, read_documents
from olmo_core.errors import ConfigError
from olmo_core.logs import forwarding_logs, log_to_parent

__all__ = ["die_with_parent", "map_shards", "read_counted", "resolve_workers"]

_PR_SET_PDEATHSIG = 1
T = TypeVar("T")
R = TypeVar("R")
POLL_SECONDS = 0.2
_advance: Callable[[int], None] | None = None  # where this process counts the documents it has read


def resolve_workers(workers: int, shards: int) -> int:
    """``workers`` (0 means one per CPU core), never more than there are shards."""
    if workers < 0:
        raise ConfigError(f"workers must be 0 (one per CPU core) or more, not {workers}")
    count = workers or os.cpu_count() or 1
    return max(1, min(count, shards))


def map_shards(function: Callable[[T], R], shards: Sequence[T], *, workers: int,
               progress: Callable[[int], None] | None = None) -> Iterator[R]:
    """``function`` over ``shards`` with up to ``workers`` processes, yielding results in shard order.

    ``progress`` receives the documents that ``function`` counts with :func:`read_counted` as they are read, in
    this process or, from workers, through a shared counter polled while results are awaited."""
    global _advance
    count = resolve_workers(workers, len(shards))
    if count == 1:
        previous, _advance = _advance, progress
        try:
            yield from map(function, shards)
        finally:
            _advance = previous
        return
    methods = multiprocessing.get_all_start_methods()
    context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    counter, seen = context.Value("q", 0), 0

    def poll() -> None:
        nonlocal seen
        if progress is not None and (now := counter.value) > seen:
            progress(now - seen)
            seen = now

    with forwarding_logs(context) as logs, ProcessPoolExecutor(
            max_workers=count, mp_context=context, initializer=_start_worker,
            initargs=(os.getpid(), counter, logs)) as pool:
        futures = [pool.submit(function, shard) for shard in shards]
        try:
            for future in futures:
                while not wait([future], timeout=POLL_SECONDS).done:
                    poll()
                poll()
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def read_counted(file: str) -> Iterator[Document | Quarantined]:
    """:func:`~olmo_core.documents.read_documents`, each record counted toward the ``progress`` of the
    :func:`map_shards` that runs this once the caller is done with it."""
    for item in read_documents(file):
        yield item
        if _advance is not None:
            _advance(1)


def _start_worker(parent: int, counter: Any, logs: tuple[Any, int]) -> None:
    global _advance
    die_with_parent(parent)
    log_to_parent(*logs)

    def advance(n: int) -> None:
        with counter.get_lock():
            counter.value += n

    _advance = advance


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
