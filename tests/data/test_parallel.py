from __future__ import annotations

import gc
import time
import weakref
from pathlib import Path

import pytest

from olmo_data import parallel
from olmo_data.parallel import map_shards


def _freeze_count_in_worker(shard: int) -> int:
    if shard < 0:
        raise ValueError(f"bad shard {shard}")
    return gc.get_freeze_count()


def test_workers_fork_from_a_frozen_heap_that_is_thawed_after() -> None:
    """What exists before the workers fork is frozen for the garbage collector while they run (a worker's full
    collection never walks what it inherited), and is thawed after, whether the work succeeds or fails."""
    assert gc.get_freeze_count() == 0
    counts = list(map_shards(_freeze_count_in_worker, [0, 1, 2], workers=2))
    assert all(count > 0 for count in counts), counts
    assert gc.get_freeze_count() == 0
    with pytest.raises(ValueError, match="bad shard -1"):
        list(map_shards(_freeze_count_in_worker, [0, -1], workers=2))
    assert gc.get_freeze_count() == 0
    assert list(map_shards(_freeze_count_in_worker, [0], workers=2)) == [0]  # one shard: no workers, nothing frozen


def test_a_heap_frozen_before_the_workers_stays_frozen_after() -> None:
    """``olmo``'s start-up objects, frozen before its job runs (olmo_core.cli.collector), stay frozen after."""
    gc.freeze()
    try:
        assert all(count > 0 for count in map_shards(_freeze_count_in_worker, [0, 1], workers=2))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


class _Result:
    def __init__(self, shard: int) -> None:
        self.shard = shard


def _logged(shard: tuple[str, int]) -> _Result:
    log, number = shard
    with open(log, "a") as f:
        f.write(f"{number}\n")
    return _Result(number)


def test_results_are_let_go_once_taken_and_few_shards_run_ahead(tmp_path: Path) -> None:
    """A job taking results slowly (a deciding process) holds a bounded number of them: only AHEAD shards per
    worker are submitted beyond the result awaited, and a result taken is not kept by ``map_shards``."""
    log = str(tmp_path / "started")
    shards = [(log, n) for n in range(40)]
    results = map_shards(_logged, shards, workers=2)
    first = next(results)
    taken = weakref.ref(first)
    del first
    time.sleep(1.0)  # room for the workers to run ahead, were they allowed
    started = len(Path(log).read_text().split())
    assert started <= 2 * parallel.AHEAD + 1, started
    second = next(results)
    gc.collect()
    assert taken() is None and second.shard == 1
    assert [r.shard for r in results] == list(range(2, 40))
