"""``plots``: PNG plots of loss, learning rate and throughput in ``<run>/plots/`` when training ends."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from olmo_core.callbacks import Callback, TrainerView
from olmo_core.plots import line_plot

from olmo_train.callbacks.metrics import read_metrics

__all__ = ["PlotsCallback", "PlotsConfig", "plot_metrics"]


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
        figures.append(line_plot(plots / "in_loop_eval.png", series, title="in-loop evaluation", xlabel="step",
                                 ylabel="value"))
    return figures


class PlotsCallback(Callback):
    """Draws the run's plots at the end of training."""

    order = 300

    def __init__(self, config: PlotsConfig) -> None:
        self.config = config
        self.figures: list[Path] = []

    def on_fit_end(self, trainer: TrainerView) -> None:
        if trainer.is_main and (trainer.run_dir / self.config.file).exists():
            self.figures = plot_metrics(trainer.run_dir, self.config.file)
