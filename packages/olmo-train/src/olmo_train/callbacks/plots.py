"""``plots``: PNG plots of loss, learning rate and throughput in ``<run>/plots/`` when training ends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from olmo_core.callbacks import Callback, TrainerView
from olmo_core.plots import line_plot, panel_plot

from olmo_train.callbacks.metrics import read_metrics

__all__ = ["PlotsCallback", "PlotsConfig", "eval_panels", "plot_metrics"]

PANELS = (("accuracy", "accuracy", False), ("perplexity / bits per byte", "value (log scale)", True),
          ("loss", "loss", False), ("other", "value", False), ("seconds per evaluation", "seconds", False))
"""The in-loop evaluation figure's panels, in order: (title, y label, log scale). Metrics of one kind share a panel,
so that accuracies (0-1), token perplexities (tens of thousands early on) and timings are each readable."""


@dataclass(kw_only=True)
class PlotsConfig:
    """Options of the plots callback."""

    file: str = "metrics.jsonl"
    """The metrics file the plots are drawn from."""


def plot_metrics(run_dir: Path, file: str = "metrics.jsonl") -> list[Path]:
    """Loss, learning rate and throughput over steps, from ``metrics.jsonl``, into ``<run>/plots/``."""
    rows = read_metrics(run_dir / file)
    steps = [r["step"] for r in rows]
    plots = run_dir / "plots"
    figures = [
        line_plot(plots / "loss.png", {"training loss": (steps, [r["loss"] for r in rows])}, title="training loss",
                  xlabel="step", ylabel="loss"),
        line_plot(plots / "lr.png", {"learning rate": (steps, [r["lr"] for r in rows])}, title="learning rate",
                  xlabel="step", ylabel="learning rate"),
        line_plot(plots / "throughput.png", {"tokens/s": (steps, [r["tokens"] / r["seconds"] for r in rows])},
                  title="throughput", xlabel="step", ylabel="tokens per second"),
    ]
    evals = sorted({k for r in rows for k in r if k.startswith("eval/")})
    if evals:
        series = {k: ([r["step"] for r in rows if k in r], [r[k] for r in rows if k in r]) for k in evals}
        figures.append(_panel_plot(plots / "in_loop_eval.png", series, title="in-loop evaluation"))
    return figures


def eval_panels(names: list[str]) -> dict[str, list[str]]:
    """The in-loop evaluation metrics (``eval/copa/acc``, ``eval/ppl/ppl_token`` ...) by the panel that draws
    them (a title of :data:`PANELS`), in :data:`PANELS`' order, panels without metrics left out."""
    def kind(name: str) -> str:
        leaf = name.rsplit("/", 1)[-1]
        if "seconds" in leaf:
            return "seconds per evaluation"
        if "acc" in leaf:
            return "accuracy"
        if "ppl" in leaf or "perplexity" in leaf or "bits_per_byte" in leaf or leaf == "bpb":
            return "perplexity / bits per byte"
        if "loss" in leaf:
            return "loss"
        return "other"

    panels: dict[str, list[str]] = {title: [] for title, _, _ in PANELS}
    for name in names:
        panels[kind(name)].append(name)
    return {title: members for title, members in panels.items() if members}


def _panel_plot(path: Path, series: dict[str, tuple[list[float], list[float]]], *, title: str) -> Path:
    """One panel per kind of metric (:func:`eval_panels`), stacked, sharing the step axis."""
    scales = {name: (ylabel, logy) for name, ylabel, logy in PANELS}
    panels = {panel: {name.removeprefix("eval/"): series[name] for name in names}
              for panel, names in eval_panels(list(series)).items()}
    return panel_plot(path, panels, title=title, xlabel="step", ylabels={p: scales[p][0] for p in panels},
                      log_panels=[p for p in panels if scales[p][1]])


class PlotsCallback(Callback):
    """Draws the run's plots at the end of training."""

    order = 300

    def __init__(self, config: PlotsConfig) -> None:
        self.config = config
        self.figures: list[Path] = []

    def on_fit_end(self, trainer: TrainerView) -> None:
        if trainer.is_main and (trainer.run_dir / self.config.file).exists():
            self.figures = plot_metrics(trainer.run_dir, self.config.file)
