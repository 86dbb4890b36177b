"""In-loop evaluation: trainer callbacks that add downstream accuracies and bits per byte to the metrics of
every N-th step (``callbacks=[downstream_eval,perplexity_eval]`` on any command that trains).

They reach the trainer only through :class:`olmo_core.callbacks.TrainerView`: its model (switched to eval
mode for the evaluation and back), its tokenizer and its step. Every rank evaluates the same subset, so the
numbers agree across ranks and a sharded model's forward runs on all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from olmo_core.callbacks import Callback, TrainerView
from olmo_core.errors import ConfigError

from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator
from olmo_eval.perplexity.evaluator import PerplexityEvalConfig, PerplexityEvaluator
from olmo_eval.perplexity.heldout import HELD_OUT_SETS
from olmo_eval.sources import build_tasks, read_eval_documents
from olmo_eval.tasks.base import Task

__all__ = ["DownstreamEvalCallback", "DownstreamEvalCallbackConfig", "PerplexityEvalCallback",
           "PerplexityEvalCallbackConfig"]


def _due(interval: int, metrics: dict[str, Any], trainer: TrainerView) -> bool:
    if interval < 1:
        raise ConfigError(f"an evaluation callback's interval must be positive, not {interval}")
    step = int(metrics.get("step", trainer.step))
    return step % interval == 0 or step == trainer.max_steps


@dataclass(kw_only=True)
class DownstreamEvalCallbackConfig(DownstreamEvalConfig):
    """Options of the in-loop downstream evaluation."""

    interval: int = 1000
    """Evaluate every this many steps (and at the last step)."""
    tasks: list[str] = field(default_factory=lambda: ["arc_easy", "hellaswag", "piqa", "sciq"])
    """Registered tasks to evaluate."""
    task_files: list[str] = field(default_factory=list)
    """Task files to evaluate too."""
    limit: int | None = 100
    """Documents per task (a fixed seeded subset, the same at every evaluation)."""
    unconditional: bool = False
    """Score the unconditional prompt too (``acc_uncond``); off in the loop to save time."""


class DownstreamEvalCallback(Callback):
    """Adds ``eval/<task>/<metric>`` (every normalization) and ``eval/<task>/acc`` (the task's primary metric)."""

    order = 50

    def __init__(self, config: DownstreamEvalCallbackConfig) -> None:
        self.config = config
        self.evaluator = DownstreamEvaluator(DownstreamEvalConfig(**{k: getattr(config, k) for k in
                                                                     DownstreamEvalConfig.__dataclass_fields__}))
        self._tasks: list[Task] | None = None

    def tasks(self) -> list[Task]:
        """The tasks, built (and their data read) once."""
        if self._tasks is None:
            self._tasks = build_tasks(self.config.tasks, self.config.task_files)
        return self._tasks

    def on_fit_start(self, trainer: TrainerView) -> None:
        self.tasks()

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        if not _due(self.config.interval, metrics, trainer):
            return
        for result in self.evaluator.evaluate(trainer.model, trainer.tokenizer, self.tasks()):
            metrics[f"eval/{result.task}/acc"] = result.accuracy
            for name, value in result.metrics.items():
                metrics[f"eval/{result.task}/{name}"] = value
        metrics["eval/downstream_seconds"] = round(self.evaluator.seconds, 3)


@dataclass(kw_only=True)
class PerplexityEvalCallbackConfig(PerplexityEvalConfig):
    """Options of the in-loop perplexity evaluation."""

    interval: int = 1000
    """Evaluate every this many steps (and at the last step)."""
    input: str | None = None
    """Dolma documents to evaluate on; default: the built-in held-out sets."""
    sets: dict[str, Any] = field(default_factory=lambda: dict(HELD_OUT_SETS))
    """Built-in sets used without ``input``: source -> metadata field naming the domain."""
    domain_key: str = "subdomain"
    """The metadata field of an input document that names its domain."""
    max_documents: int | None = 20
    """Most documents per source."""


class PerplexityEvalCallback(Callback):
    """Adds ``eval/ppl/<source>/bits_per_byte``, ``eval/ppl/<source>/ppl_token`` and their means over sources
    (``eval/ppl/bits_per_byte``, ``eval/ppl/ppl_token``)."""

    order = 50

    def __init__(self, config: PerplexityEvalCallbackConfig) -> None:
        self.config = config
        self.evaluator = PerplexityEvaluator(PerplexityEvalConfig(**{k: getattr(config, k) for k in
                                                                     PerplexityEvalConfig.__dataclass_fields__}))
        self._documents: list[Any] | None = None

    def documents(self) -> list[Any]:
        """The ``(document, domain)`` pairs, read once."""
        if self._documents is None:
            c = self.config
            self._documents = list(read_eval_documents(c.input, domain_key=c.domain_key, sets=c.sets,
                                                       max_documents=c.max_documents))
        return self._documents

    def on_fit_start(self, trainer: TrainerView) -> None:
        self.documents()

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        if not _due(self.config.interval, metrics, trainer):
            return
        result = self.evaluator.evaluate(trainer.model, trainer.tokenizer, self.documents())
        for source, figures in result.sources.items():
            metrics[f"eval/ppl/{source}/bits_per_byte"] = figures["bits_per_byte"]
            metrics[f"eval/ppl/{source}/ppl_token"] = figures["ppl_token"]
        metrics["eval/ppl/bits_per_byte"] = result.bits_per_byte
        metrics["eval/ppl/ppl_token"] = result.ppl_token
        metrics["eval/ppl_seconds"] = round(self.evaluator.seconds, 3)
