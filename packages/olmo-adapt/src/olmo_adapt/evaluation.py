"""Held-out evaluation during training, logged with the step's metrics (``eval/...`` in metrics.jsonl)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import torch

from olmo_core.callbacks import Callback, TrainerView

__all__ = ["HeldOutEvaluation"]


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
