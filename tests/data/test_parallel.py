from __future__ import annotations

import gc

import pytest

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
