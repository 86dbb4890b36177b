"""Held-out evaluation during training, logged with the step's metrics (``eval/...`` in metrics.jsonl)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from olmo_core.callbacks import Callback, TrainerView

__all__ = ["HeldOutEvaluation", "plot_held_out"]


class HeldOutEvaluation(Callback):
    """Every ``interval`` steps and at the last step, add ``eval/<name>`` for each value ``evaluate`` returns.

    ``evaluate(model, device)`` runs in eval mode without gradients; training mode is restored after it. Before
    the first step of a fresh run, the starting model is evaluated too, into ``<run>/eval_before.json``.
    """

    order = 50  # before the metrics writers (100)

    def __init__(self, evaluate: Callable[[torch.nn.Module, torch.device], dict[str, float]], *, interval: int) -> None:
        self.evaluate, self.interval = evaluate, interval
        self.last: dict[str, float] = {}

    def on_fit_start(self, trainer: TrainerView) -> None:
        if trainer.step == 0 and trainer.is_main:
            self._run(trainer)
            (trainer.run_dir / "eval_before.json").write_text(json.dumps(self.last, indent=2) + "\n")

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        step = trainer.step
        if step != trainer.max_steps and not (self.interval and step % self.interval == 0):
            return
        self._run(trainer)
        metrics.update({f"eval/{k}": v for k, v in self.last.items()})

    def _run(self, trainer: TrainerView) -> None:
        model = trainer.model
        model.eval()
        try:
            with torch.no_grad():
                self.last = self.evaluate(model, trainer.device)
        finally:
            model.train()


_YLABELS = {"accuracy": "accuracy", "loss": "loss"}


def plot_held_out(run_dir: Path) -> Path | None:
    """Redraw ``<run>/plots/in_loop_eval.png`` (drawn by olmo-train's plots callback from ``metrics.jsonl`` alone)
    with the starting model's values of ``eval_before.json`` at step 0, so that a run evaluated only at its last
    step still shows where it started. ``None`` when the run drew no such figure or evaluated nothing before."""
    from olmo_core.plots import panel_plot

    from olmo_train.callbacks.metrics import read_metrics
    from olmo_train.callbacks.plots import eval_panels

    figure, before_file = run_dir / "plots" / "in_loop_eval.png", run_dir / "eval_before.json"
    if not figure.is_file() or not before_file.is_file():
        return None
    before = {f"eval/{k}": v for k, v in json.loads(before_file.read_text()).items()}
    rows = [{"step": 0, **before}, *read_metrics(run_dir / "metrics.jsonl")]
    names = sorted({k for r in rows for k in r if k.startswith("eval/")})
    series = {k: ([r["step"] for r in rows if k in r], [r[k] for r in rows if k in r]) for k in names}
    panels = {panel: {name.removeprefix("eval/"): series[name] for name in members}
              for panel, members in eval_panels(names).items()}
    return panel_plot(figure, panels, title="in-loop evaluation (step 0: before training)", xlabel="step",
                      ylabels={p: _YLABELS.get(p, "value") for p in panels})
