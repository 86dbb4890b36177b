"""What the trainer minimizes: an objective turns a batch into micro-batch losses and step metrics.

The trainer owns the loop (micro-batches, gradient accumulation, clipping, the optimizer, callbacks,
checkpoints); an objective owns what a batch means. Pretraining uses :class:`LanguageModelObjective`;
olmo-adapt's SFT and DPO supply their own, so that every kind of training runs on the one loop.

Losses are normalized per optimizer step, not per micro-batch: :meth:`Objective.normalizer` counts what a
batch contributes (labelled tokens, preference pairs ...), the trainer sums it over the step's batch on all
ranks, and each micro-batch loss is its *sum* divided by that total, so gradients do not depend on
micro-batching or world size.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import torch

from olmo_train.loss import IGNORE, labels_for, step_loss

__all__ = ["LanguageModelObjective", "Objective", "row_slices"]

Batch = dict[str, Any]


class Objective(Protocol):
    """The contract between the trainer and what it trains for."""

    def normalizer(self, batch: Batch) -> torch.Tensor:
        """What this (rank's share of the) batch counts toward the step's normalization, as a 0-d tensor."""

    def tokens(self, batch: Batch) -> int:
        """Tokens this batch feeds the model (for tokens/s, MFU and ``tokens_seen``)."""

    def micro_batches(self, batch: Batch, size: int) -> Iterator[Batch]:
        """Split the batch into micro-batches of ``size`` examples."""

    def loss(self, model: torch.nn.Module, micro_batch: Batch,
             normalizer: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(loss to backpropagate, detached sums)`` of one micro-batch.

        The loss is the micro-batch's summed objective divided by ``normalizer`` (the step's total over all
        ranks). The sums (for example ``{"ce": ..., "z": ...}``) are added up over the step and all ranks and
        handed to :meth:`metrics`.
        """

    def metrics(self, sums: dict[str, float], normalizer: float) -> dict[str, float]:
        """The step's metrics from its summed values; must contain ``"loss"``."""


def row_slices(batch: Batch, size: int) -> Iterator[Batch]:
    """Micro-batches of ``size`` rows: every tensor (and list) in the batch sliced along its first axis."""
    rows = len(next(iter(batch.values())))
    for start in range(0, rows, size):
        yield {k: v[start:start + size] for k, v in batch.items()}


class LanguageModelObjective:
    """Next-token cross-entropy (OLMo's pretraining loss), with optional z-loss and label masks.

    Its metrics: ``loss`` (the cross-entropy per labelled token) and, with ``z_loss`` > 0, ``z_loss`` (the term the
    objective adds: ``z_loss`` times the mean of ``logsumexp(logits)^2`` over labelled tokens) and
    ``z_loss_unscaled`` (that mean).

    A batch holds ``input_ids`` and optionally ``label_mask`` (False where a token is not to be predicted:
    padding, prompts) and ``doc_lens`` (intra-document attention).
    """

    def __init__(self, *, z_loss: float = 0.0, doc_masking: bool = False) -> None:
        self.z_loss = z_loss
        self.doc_masking = doc_masking

    def _labels(self, batch: Batch) -> torch.Tensor:
        if "labels" not in batch:
            labels = labels_for(batch["input_ids"])
            if "label_mask" in batch:
                keep = labels_for(batch["label_mask"].long()).bool()
                labels = labels.masked_fill(~keep | (labels == IGNORE), IGNORE)
            batch["labels"] = labels
        return batch["labels"]  # type: ignore[no-any-return]

    def normalizer(self, batch: Batch) -> torch.Tensor:
        return (self._labels(batch) != IGNORE).sum()

    def tokens(self, batch: Batch) -> int:
        return int(batch["input_ids"].numel())

    def micro_batches(self, batch: Batch, size: int) -> Iterator[Batch]:
        self._labels(batch)
        return row_slices(batch, size)

    def loss(self, model: torch.nn.Module, micro_batch: Batch,
             normalizer: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        doc_lens = micro_batch.get("doc_lens") if self.doc_masking else None
        extra = {"doc_lens": doc_lens} if doc_lens is not None else {}
        lm_sums = model(micro_batch["input_ids"], labels=micro_batch["labels"], z_loss=self.z_loss, **extra)
        loss, ce_sum, z_sum = step_loss(lm_sums, step_tokens=normalizer)
        sums = {"ce": ce_sum}
        if z_sum is not None:
            sums["z"] = z_sum
        return loss, sums

    def metrics(self, sums: dict[str, float], normalizer: float) -> dict[str, float]:
        out = {"loss": sums["ce"] / normalizer}
        if "z" in sums:  # as OLMo-core logs "Z loss" (the term added to the objective) and "Z loss unscaled"
            out["z_loss"] = self.z_loss * sums["z"] / normalizer
            out["z_loss_unscaled"] = sums["z"] / normalizer
        return out
