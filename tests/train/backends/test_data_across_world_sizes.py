"""Every rank reads its own slice of the global order; a run interrupted at one world size and resumed at
another reads each instance of the order's prefix exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from olmo_train.data import DataLoaderConfig
from olmo_train.data.loader import global_indices

SEQ, INSTANCES, SEED = 32, 8, 5


def loaders(tokens: Path, work: Path, world: int) -> list:  # type: ignore[type-arg]
    config = DataLoaderConfig(paths=[str(tokens)], seq_len=SEQ, global_batch_size=INSTANCES * SEQ, seed=SEED)
    return [config.build(work, rank=r, world_size=world) for r in range(world)]


def read(ranks: list, steps: int) -> list[int]:  # type: ignore[type-arg]
    """The instances all ranks read in ``steps`` steps (each rank iterates its own loader)."""
    seen: list[int] = []
    iterators = [iter(each) for each in ranks]
    for _ in range(steps):
        for it in iterators:
            seen += next(it)["index"].tolist()
    return seen


@pytest.mark.parametrize(("before", "after"), [(2, 1), (1, 2), (4, 2), (2, 4)])
def test_union_over_an_interrupted_run_is_the_orders_prefix(tokens: Path, tmp_path: Path, before: int,
                                                            after: int) -> None:
    first = loaders(tokens, tmp_path, before)
    seen = read(first, 3)
    states = [each.state_dict() for each in first]
    assert all(state == states[0] for state in states)  # global state: any rank's checkpoint resumes all
    second = loaders(tokens, tmp_path, after)
    for each in second:
        each.load_state_dict(states[0])
    steps_after = second[0].batches_per_epoch - 3
    seen += read(second, steps_after)
    total = (3 + steps_after) * INSTANCES
    order = global_indices(len(first[0].dataset), SEED, 1)
    assert len(seen) == len(set(seen)) == total
    assert sorted(seen) == sorted(order[:total].tolist())
