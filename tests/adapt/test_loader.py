"""The example loader: a new order every epoch, and exact resume from its state."""

from __future__ import annotations

import itertools

from olmo_adapt.loader import ExampleLoader


def _batches(loader: ExampleLoader[int], n: int) -> list[list[int]]:
    out: list[list[int]] = []
    while len(out) < n:
        out += [b["rows"] for b in itertools.islice(iter(loader), n - len(out))]
    return out


def test_epochs_cover_the_examples_in_new_orders_and_resume_exactly() -> None:
    make = lambda: ExampleLoader(list(range(10)), batch_size=3, seed=7, collate=lambda rows: {"rows": rows})  # noqa: E731
    loader = make()
    assert loader.steps_per_epoch == 3
    whole = _batches(loader, 7)
    first, second = sum(whole[:3], []), sum(whole[3:6], [])
    assert len(set(first)) == len(set(second)) == 9 and first != second
    stopped = make()
    head = _batches(stopped, 4)
    state = stopped.state_dict()
    resumed = make()
    resumed.load_state_dict(state)
    assert head + _batches(resumed, 3) == whole


def test_each_rank_gets_its_share_of_the_global_batch() -> None:
    shares = []
    for rank in range(2):
        loader = ExampleLoader(list(range(8)), batch_size=4, seed=1, collate=lambda rows: {"rows": rows})
        loader.shard(rank, 2)
        shares.append(_batches(loader, 2))
    whole = _batches(ExampleLoader(list(range(8)), batch_size=4, seed=1, collate=lambda rows: {"rows": rows}), 2)
    assert [a + b for a, b in zip(shares[0], shares[1], strict=True)] == whole


def test_a_resume_with_another_batch_size_names_adapts_option_and_output() -> None:
    """The loader's refusal names method.batch_size and says to start over with a new output= (not a run name)."""
    import pytest

    from olmo_core.errors import ConfigError

    saved = ExampleLoader(list(range(12)), batch_size=4, seed=0, collate=lambda xs: {"x": xs}).state_dict()
    other = ExampleLoader(list(range(12)), batch_size=3, seed=0, collate=lambda xs: {"x": xs})
    with pytest.raises(ConfigError, match=r"made with method.batch_size=4, not 3: resume with the same data and "
                                          r"settings, or start over with a new output=$"):
        other.load_state_dict(saved)
    fewer = ExampleLoader(list(range(8)), batch_size=4, seed=0, collate=lambda xs: {"x": xs})
    with pytest.raises(ConfigError, match=r"made with 12 training examples, not 8: "):
        fewer.load_state_dict(saved)
