"""Paloma's windows at the boundaries: every token scored once, windows never longer than allowed, the last
window extended leftward."""

from __future__ import annotations

import pytest

from olmo_eval.perplexity.windows import Window, windows

L = 8


def expected_context(target: int, n: int) -> range:
    """The stream indices a target (stream index ``target``, 1..n) is conditioned on, from the rule itself:
    its span is the ((target-1)//L)-th block of L targets; full blocks read from the token before the block,
    the final short block from the last L inputs."""
    block = (target - 1) // L
    first, last = 1 + block * L, min(1 + (block + 1) * L, n + 1)
    start = max(0, last - 1 - L) if last - first < L else first - 1
    return range(start, target)


@pytest.mark.parametrize("n", [1, 2, L - 1, L, L + 1, 2 * L - 1, 2 * L, 2 * L + 1, 5 * L + 3])
def test_each_token_is_scored_once_with_the_right_context(n: int) -> None:
    found = windows(n, L)
    scored = []
    for w in found:
        assert 1 <= w.targets <= w.end - w.start <= L
        for target in range(w.end - w.targets + 1, w.end + 1):
            scored.append(target)
            assert range(w.start, target) == expected_context(target, n)
    assert scored == list(range(1, n + 1))


def test_boundaries() -> None:
    assert windows(L, L) == [Window(start=0, end=L, targets=L)]
    assert windows(L + 1, L) == [Window(start=0, end=L, targets=L), Window(start=1, end=L + 1, targets=1)]
    assert windows(2 * L, L) == [Window(start=0, end=L, targets=L), Window(start=L, end=2 * L, targets=L)]
    assert windows(3, L) == [Window(start=0, end=3, targets=3)]
    assert windows(0, L) == []
    with pytest.raises(ValueError):
        windows(3, 0)
