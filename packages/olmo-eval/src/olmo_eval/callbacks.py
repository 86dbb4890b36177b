"""In-loop evaluation: the trainer callback ``evaluate`` runs the registry's evaluators it selects every N-th
step. It reaches the trainer only through :class:`olmo_core.callbacks.TrainerView` (model, tokenizer, step);
every rank evaluates the same subset, so the numbers agree and a sharded model's forward runs on all ranks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from olmo_core.callbacks import Callback, TrainerView
from olmo_core.config import components, positive

from olmo_eval.evaluator import build_evaluators, check_evaluators

__all__ = ["EvaluateCallback", "EvaluateCallbackConfig"]


@dataclass(kw_only=True)
class EvaluateCallbackConfig:
    """Options of the in-loop evaluation."""

    evaluators: Any = components("evaluators", default=["downstream", "perplexity"],
                                 help="the evaluators to run (callbacks.evaluate.evaluators.downstream.tasks=[...])")
    interval: int = positive(1000)
    """Evaluate every this many steps (and at the last step)."""


class EvaluateCallback(Callback):
    """Adds ``eval/<name>`` for every metric of every evaluator (``eval/copa/acc``, ``eval/ppl/bits_per_byte``);
    each evaluator's subset is fixed and read once, when training starts."""

    order = 50

    def __init__(self, config: EvaluateCallbackConfig) -> None:
        self.config = config
        self.evaluators = build_evaluators(config.evaluators)
        check_evaluators(self.evaluators, "callbacks.evaluate.evaluators")  # before training, not at the first eval

    def on_fit_start(self, trainer: TrainerView) -> None:
        for evaluator in self.evaluators.values():
            evaluator.prepare()

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        step = int(metrics.get("step", trainer.step))
        if step % self.config.interval and step != trainer.max_steps:
            return
        for evaluator in self.evaluators.values():
            evaluation = evaluator.evaluate(trainer.model, trainer.tokenizer)
            metrics.update({f"eval/{name}": value for name, value in evaluation.metrics().items()})
