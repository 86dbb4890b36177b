"""PNG figures with one look across olmo: lines (curves over steps), bars (counts per category) and
histograms (length distributions). Needs the ``plots`` extra (matplotlib); drawing happens off-screen.

Without matplotlib, drawing raises :class:`~olmo_core.errors.MissingDependencyError` naming the extra; code
whose figures are optional (the data jobs' reports) checks :func:`available` and writes :func:`missing_note`
in place of the figure."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from olmo_core.errors import MissingDependencyError

__all__ = ["available", "bar_plot", "histogram", "line_plot", "missing_note", "panel_plot"]

WIDTH, HEIGHT, DPI = 7.0, 4.0, 120


def available() -> bool:
    """Whether figures can be drawn: matplotlib (olmo-core's ``plots`` extra) is installed."""
    try:
        return importlib.util.find_spec("matplotlib") is not None
    except ValueError:  # a module object without a spec stands in for it
        return True


def missing_note(what: str = "figure") -> str:
    """The one line written in place of ``what`` when matplotlib is not installed, with the command that
    installs it."""
    return f"({what} not drawn: {_missing()})"


def _missing() -> MissingDependencyError:
    return MissingDependencyError("drawing figures", distribution="olmo-core", extra="plots")


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise _missing() from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Any, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(target, dpi=DPI)
    _pyplot().close(fig)
    return target


def line_plot(path: str | Path, series: Mapping[str, tuple[Sequence[float], Sequence[float]]], *, title: str,
              xlabel: str, ylabel: str, logy: bool = False) -> Path:
    """One line per entry of ``series`` (``name: (xs, ys)``), with a legend when there are several."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT))
    for name, (xs, ys) in series.items():
        ax.plot(list(xs), list(ys), label=name, linewidth=1.5)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if logy:
        ax.set_yscale("log")
    if len(series) > 1:
        ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def panel_plot(path: str | Path, panels: Mapping[str, Mapping[str, tuple[Sequence[float], Sequence[float]]]], *,
               title: str, xlabel: str, ylabels: Mapping[str, str] | None = None,
               log_panels: Sequence[str] = ()) -> Path:
    """Stacked panels sharing the x axis, one per entry of ``panels`` (``panel title: {name: (xs, ys)}``), each
    with its legend outside its axes, on the right, its y label from ``ylabels`` (default: the panel's title) and a
    log scale for the panels in ``log_panels``: series of different kinds (accuracies, perplexities, seconds) stay
    readable, each on its own scale."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(panels), 1, figsize=(WIDTH, HEIGHT * 0.7 * len(panels) + 0.6), sharex=True,
                             squeeze=False, layout="constrained")
    for ax, (panel, series) in zip(axes[:, 0], panels.items(), strict=True):
        for name, (xs, ys) in series.items():
            ax.plot(list(xs), list(ys), label=name, linewidth=1.5, marker="o", markersize=3)
        ax.set(title=panel, ylabel=(ylabels or {}).get(panel, panel))
        if panel in log_panels:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False, fontsize="small")
    axes[-1, 0].set_xlabel(xlabel)
    fig.suptitle(title)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=DPI, bbox_inches="tight")  # the legends outside the axes stay in the figure
    plt.close(fig)
    return target


def bar_plot(path: str | Path, values: Mapping[str, float] | Mapping[str, Mapping[str, float]], *, title: str,
             ylabel: str, horizontal: bool = False, errors: Mapping[str, Any] | None = None) -> Path:
    """Bars per category; with nested mappings (``{group: {category: value}}``), grouped bars per category
    and a legend of the groups outside the axes, on the right. ``errors`` (shaped as ``values``, groups may be
    missing) draws error bars of those half-widths, or of ``(below, above)`` pairs for a bar whose interval is cut
    (an accuracy's at 0 and 1); a bar whose half-width is missing or ``None`` (unknown) gets no error bar."""
    plt = _pyplot()
    groups = values if values and isinstance(next(iter(values.values())), Mapping) else {"": values}
    categories = list(dict.fromkeys(c for g in groups.values() for c in g))  # type: ignore[union-attr]
    fig, ax = plt.subplots(figsize=(WIDTH, max(HEIGHT, 0.3 * len(categories)) if horizontal else HEIGHT))
    width = 0.8 / len(groups)
    for i, (group, data) in enumerate(groups.items()):
        positions = [j + (i - (len(groups) - 1) / 2) * width for j in range(len(categories))]
        heights = [float(data.get(c, 0)) for c in categories]  # type: ignore[union-attr]
        draw = ax.barh if horizontal else ax.bar
        spread = (errors if group else {"": errors}).get(group) if errors else None
        bars = _error_bars([spread.get(c) for c in categories]) if spread else None
        draw(positions, heights, width, label=group or None, **{"xerr" if horizontal else "yerr": bars, "capsize": 3})
    if horizontal:
        ax.set_yticks(range(len(categories)), categories)
        ax.set(title=title, xlabel=ylabel)
        ax.invert_yaxis()
    else:
        ax.set_xticks(range(len(categories)), categories, rotation=30, ha="right")
        ax.set(title=title, ylabel=ylabel)
    if len(groups) > 1:  # outside the axes, on the right, where it cannot cover a bar
        ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    ax.grid(alpha=0.3, axis="x" if horizontal else "y")
    return _save(fig, path)


def _error_bars(values: Sequence[Any]) -> list[list[float]]:
    """Matplotlib's asymmetric error bars (the lengths below, then above) of half-widths or ``(below, above)``
    pairs; NaN, where matplotlib draws none, for ``None``."""
    pairs = [(math.nan, math.nan) if value is None else (float(value[0]), float(value[1]))
             if isinstance(value, Sequence) else (float(value), float(value)) for value in values]
    return [[below for below, _ in pairs], [above for _, above in pairs]]


def histogram(path: str | Path, samples: Mapping[str, Sequence[float]], *, title: str, xlabel: str,
              bins: int = 50, logx: bool = False) -> Path:
    """Overlaid histograms, one per entry of ``samples``."""
    import numpy as np

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(WIDTH, HEIGHT))
    every = [float(v) for values in samples.values() for v in values]
    if every and logx:
        low = max(min(every), 1.0)
        edges = np.logspace(np.log10(low), np.log10(max(max(every), low * 10)), bins + 1)
        ax.set_xscale("log")
    else:
        edges = bins
    for name, values in samples.items():
        ax.hist(list(values), bins=edges, alpha=0.6, label=name)
    ax.set(title=title, xlabel=xlabel, ylabel="documents")
    if len(samples) > 1:
        ax.legend(frameon=False, fontsize=8)
    return _save(fig, path)
