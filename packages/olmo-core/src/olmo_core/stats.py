"""Uncertainty of reported numbers: standard errors, 95% intervals and a paired test of two models.

The standard error of a mean is lm-evaluation-harness's ``mean_stderr`` (the sample standard deviation, n - 1,
over the square root of n); the 95% interval is the normal one, mean +- 1.96 standard errors. With fewer than
two values a standard error cannot be estimated: it is ``None`` (unknown, ``null`` in JSON), and so is every
interval and every standard error of a mean that depends on it, so that no figure claims a precision it lacks.
Two models scored right or wrong on the same examples are compared with McNemar's exact test: under "no
difference" each example that only one model gets right is a fair coin, so the two-sided binomial p-value of the
discordant counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Z95", "describe", "half_width", "interval", "mcnemar", "mean_stderr", "multiple_comparisons", "paired",
           "plus_minus", "stderr"]

Z95 = 1.959963984540054
"""The normal quantile of a two-sided 95% interval."""


def stderr(values: Sequence[float]) -> float | None:
    """The standard error of the mean of ``values``; ``None`` (unknown) with fewer than two."""
    n = len(values)
    if n < 2:
        return None
    mean = sum(values) / n
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def mean_stderr(errors: Sequence[float | None]) -> float | None:
    """The standard error of the mean of independent figures with standard errors ``errors``: ``sqrt(sum se^2) /
    count``; ``None`` when there are none or any of them is unknown."""
    if not errors or any(e is None for e in errors):
        return None
    return math.sqrt(sum(e * e for e in errors if e is not None)) / len(errors)


def half_width(se: float | None) -> float | None:
    """The half-width of the 95% interval, ``1.96 se`` (``None`` where ``se`` is unknown)."""
    return None if se is None else Z95 * se


def interval(mean: float, se: float | None, bounds: tuple[float, float] | None = None) -> tuple[float, float] | None:
    """The 95% interval ``mean +- 1.96 se`` (``None`` where ``se`` is unknown), cut to ``bounds``, the values the
    figure can take (an accuracy's ``(0, 1)``: the normal interval of 1 right in 5 would reach below 0)."""
    if se is None:
        return None
    low, high = mean - Z95 * se, mean + Z95 * se
    return (low, high) if bounds is None else (max(low, bounds[0]), min(high, bounds[1]))


def plus_minus(value: float, se: float | None, digits: int = 3) -> str:
    """``value`` and the half-width of its 95% interval, ``0.625 ± 0.359``; the value alone where ``se`` is
    unknown (never ``± 0.000`` for a precision that was not measured)."""
    shown = f"{value:.{digits}f}"
    return shown if se is None else f"{shown} ± {Z95 * se:.{digits}f}"


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


def multiple_comparisons(count: int, alpha: float = 0.05) -> str:
    """A sentence on reading ``count`` paired tests together: how many would fall beyond noise by chance alone
    if no model differed from another, and Bonferroni's threshold for all of them at once."""
    if count < 2:
        return ""
    return (f"With {count} comparisons, about {count * alpha:.1f} would be beyond noise by chance alone even if "
            f"no model differed; to claim them all at once, use Bonferroni's threshold p < {alpha / count:.2g}.")
