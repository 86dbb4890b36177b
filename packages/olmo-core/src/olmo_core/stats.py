"""Uncertainty of reported numbers: standard errors, 95% intervals and a paired test of two models.

The standard error of a mean is lm-evaluation-harness's ``mean_stderr`` (the sample standard deviation, n - 1,
over the square root of n); the 95% interval is the normal one, mean +- 1.96 standard errors. Two models scored
right or wrong on the same examples are compared with McNemar's exact test: under "no difference" each example
that only one model gets right is a fair coin, so the two-sided binomial p-value of the discordant counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Z95", "describe", "interval", "mcnemar", "mean_stderr", "paired", "stderr"]

Z95 = 1.959963984540054
"""The normal quantile of a two-sided 95% interval."""


def stderr(values: Sequence[float]) -> float:
    """The standard error of the mean of ``values`` (0 with fewer than two)."""
    n = len(values)
    if n < 2:
        return 0.0
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def mean_stderr(errors: Sequence[float]) -> float:
    """The standard error of the mean of independent figures with standard errors ``errors``."""
    return math.sqrt(sum(e * e for e in errors)) / len(errors)


def interval(mean: float, se: float) -> tuple[float, float]:
    """The 95% interval ``mean +- 1.96 se``."""
    return mean - Z95 * se, mean + Z95 * se


def mcnemar(only_a: int, only_b: int) -> float:
    """McNemar's exact two-sided p-value from the discordant counts (1 when there are none)."""
    n = only_a + only_b
    tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired(a: Mapping[Any, bool], b: Mapping[Any, bool]) -> dict[str, Any]:
    """``b`` against ``a`` on the examples both scored: the accuracy difference (b - a), McNemar's p-value and
    whether the difference is beyond noise (p < 0.05)."""
    shared = [k for k in a if k in b]
    only_a = sum(bool(a[k]) and not b[k] for k in shared)
    only_b = sum(bool(b[k]) and not a[k] for k in shared)
    p = mcnemar(only_a, only_b)
    return {"difference": (only_b - only_a) / len(shared) if shared else 0.0, "p": p, "examples": len(shared),
            "beyond_noise": p < 0.05}


def describe(result: Mapping[str, Any]) -> str:
    """A :func:`paired` result in words: ``+0.050 (p=0.41, within noise)``."""
    noise = "beyond" if result["beyond_noise"] else "within"
    return f"{result['difference']:+.3f} (p={result['p']:.2g}, {noise} noise)"
