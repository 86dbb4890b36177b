"""A task's results: its metrics, its records, and the uncertainty of its primary metric.

:class:`TaskResult` holds a rank-classification task's per-(document, choice) records, from which every
accuracy and each document's right/wrong follow (:mod:`olmo_eval.metrics`); :class:`GenerationResult` holds a
generation task's per-document records, each with the task's judgement ``hit``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from olmo_core.stats import interval, mean_stderr, stderr

from olmo_eval.metrics import correct

__all__ = ["GenerationResult", "TaskResult"]


@dataclass(kw_only=True)
class TaskResult:
    """One task's metrics and records."""

    task: str
    metric: str
    metrics: dict[str, float]
    chance: float
    documents: int
    requests: int
    records: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """The primary metric's value."""
        return self.metrics[self.metric]

    @functools.cached_property
    def correct(self) -> dict[int, bool]:
        """Whether the primary metric gets each document right (computed once: the standard error, the paired
        tests and ``correct.json`` read it)."""
        return correct(self.records, self.metric)

    @functools.cached_property
    def stderr(self) -> float | None:
        """The primary metric's standard error over documents; for a task scored as the mean of its groups'
        accuracies (MMLU's subjects), that of the mean: the root of the groups' summed variances over their count.
        ``None`` (unknown) where a standard error cannot be estimated: fewer than two documents (in some group)."""
        group = {r["doc_id"]: r.get("group", "") for r in self.records}
        groups: dict[str, list[float]] = {}
        for doc, right in self.correct.items():
            groups.setdefault(group[doc], []).append(float(right))
        return mean_stderr([stderr(rights) for rights in groups.values()])

    @property
    def interval(self) -> tuple[float, float] | None:
        """The primary metric's 95% interval, within [0, 1] (``None`` where its standard error is unknown)."""
        return interval(self.accuracy, self.stderr, bounds=(0.0, 1.0))

    def summary(self) -> dict[str, Any]:
        """Everything but the records, JSON-able (``stderr`` and ``interval`` are ``null`` where unknown)."""
        bounds = self.interval
        return {"task": self.task, "metric": self.metric, "accuracy": self.accuracy, "stderr": self.stderr,
                "interval": None if bounds is None else list(bounds), "chance": self.chance,
                "metrics": self.metrics, "documents": self.documents, "requests": self.requests}



@dataclass(kw_only=True)
class GenerationResult(TaskResult):
    """A generation task's metric, the fraction of its documents' hits (one record per document)."""

    truncated: int = 0
    """Prompts cut from the left to leave room for the answer."""

    @functools.cached_property
    def correct(self) -> dict[int, bool]:
        return {r["doc_id"]: bool(r["hit"]) for r in self.records}

    def summary(self) -> dict[str, Any]:
        return {**super().summary(), "truncated": self.truncated}
