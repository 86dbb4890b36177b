"""The downstream evaluator: rank classification of every task's choices, one record per (document, choice).

Every task's requests (and the unconditional ones) go through one batched, length-sorted scoring pass in
which each distinct context is computed once; the records then give every metric of :mod:`olmo_eval.metrics`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from olmo_core.tokenizer import Tokenizer

from olmo_eval.metrics import accuracies, chance
from olmo_eval.scoring.requests import build_rows, encode_requests
from olmo_eval.tasks.base import Task, subsample

__all__ = ["DownstreamEvalConfig", "DownstreamEvaluator", "TaskResult", "model_max_length"]


@dataclass(kw_only=True)
class DownstreamEvalConfig:
    """Options of downstream (rank classification) evaluation."""

    limit: int | None = None
    """Documents per task: a seeded random subset in dataset order (default: all)."""
    seed: int = 1234
    """Seed of the subset (OLMo-Eval's ``random_subsample_seed``)."""
    unconditional: bool = True
    """Also score each continuation after :attr:`unconditional_prompt`, for ``acc_uncond`` (PMI)."""
    unconditional_prompt: str = "Answer:"
    """The unconditional context (Catwalk's; ``""`` scores after EOS alone, as lm-eval's ``acc_mutual_info``)."""
    shared_prefix: bool = True
    """Compute each context once for all its continuations (OLMo models; others score request by request)."""
    max_length: int | None = None
    """Longest input in tokens; contexts are cut from the left to fit (default: the model's sequence length)."""
    batch_tokens: int = 8192
    """Most tokens in one forward pass (rows times the longest row)."""
    max_batch_size: int = 64
    """Most rows in one forward pass."""


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

    def summary(self) -> dict[str, Any]:
        """Everything but the records, JSON-able."""
        return {"task": self.task, "metric": self.metric, "accuracy": self.accuracy, "chance": self.chance,
                "metrics": self.metrics, "documents": self.documents, "requests": self.requests}


def model_max_length(model: Any, default: int = 2048) -> int:
    """The model's trained sequence length (``config.max_sequence_length`` or ``max_position_embeddings``)."""
    config = getattr(model, "config", None)
    for name in ("max_sequence_length", "max_position_embeddings"):
        if isinstance(getattr(config, name, None), int):
            return int(getattr(config, name))
    inner = getattr(model, "module", None)
    return model_max_length(inner, default) if inner is not None else default


class DownstreamEvaluator:
    """Score tasks by rank classification (zero-shot, as OLMo and Catwalk do)."""

    def __init__(self, config: DownstreamEvalConfig | None = None) -> None:
        self.config = config or DownstreamEvalConfig()
        self.seconds = 0.0
        """Wall time of the last :meth:`evaluate`'s scoring pass."""

    def evaluate(self, model: Any, tokenizer: Tokenizer, tasks: Sequence[Task], *,
                 progress: bool = False) -> list[TaskResult]:
        """Score every task on ``model`` and return one result per task, records included."""
        from olmo_eval.scoring.engine import fast_model, score_rows  # torch, when evaluating

        c = self.config
        selected = [(task, subsample(task.instances(), c.limit, c.seed)) for task in tasks]
        pairs: list[tuple[str, str]] = []
        for _, instances in selected:
            for instance in instances:
                pairs.extend(zip(instance.contexts, instance.continuations))
                if c.unconditional:
                    pairs.extend((c.unconditional_prompt, cont) for cont in instance.continuations)
        requests = encode_requests(pairs, tokenizer)
        rows, where = build_rows(requests, max_length=c.max_length or model_max_length(model),
                                 shared_prefix=c.shared_prefix and fast_model(model) is not None,
                                 max_row_tokens=c.batch_tokens)
        start = time.perf_counter()
        scored = score_rows(model, rows, pad_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                            batch_tokens=c.batch_tokens, max_batch_size=c.max_batch_size,
                            progress="scoring" if progress else None)
        self.seconds = time.perf_counter() - start

        def loglikelihood(index: int) -> tuple[float, bool]:
            row, first = where[index]
            n = len(requests[index].continuation)
            logprobs, greedy = scored[row]
            return sum(logprobs[first:first + n]), all(greedy[first:first + n])

        results = []
        cursor = 0
        for task, instances in selected:
            records = []
            for instance in instances:
                for choice, (context, continuation) in enumerate(zip(instance.contexts, instance.continuations)):
                    ll, greedy = loglikelihood(cursor)
                    text = continuation[1:] if continuation.startswith(" ") else continuation
                    record = {"task": task.name, "doc_id": instance.doc_id, "native_id": instance.native_id,
                              "choice": choice, "gold": instance.gold, "context": context,
                              "continuation": continuation, "ll": ll, "greedy": greedy,
                              "tokens": len(requests[cursor].continuation), "chars": len(text),
                              "bytes": len(text.encode("utf-8"))}
                    cursor += 1
                    records.append(record)
                if c.unconditional:
                    for record in records[-instance.num_choices:]:
                        record["ll_uncond"] = loglikelihood(cursor)[0]
                        cursor += 1
            metrics = accuracies(records)
            results.append(TaskResult(task=task.name, metric=task.metric if task.metric in metrics else "acc_raw",
                                      metrics=metrics, chance=chance(records), documents=len(instances),
                                      requests=len(records) * (2 if c.unconditional else 1), records=records))
        return results
