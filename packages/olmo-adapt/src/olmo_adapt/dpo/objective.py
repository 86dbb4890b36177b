"""The DPO objective for olmo-train's trainer: one forward pass over chosen and rejected rows per micro-batch.

The step's normalizer is its number of pairs (over all ranks): each micro-batch contributes its summed pair
losses divided by it, so the step's loss is the mean over its pairs whatever the micro-batching. Metrics are
step means over pairs, named as TRL names them: ``rewards/chosen``, ``rewards/rejected``,
``rewards/accuracies``, ``rewards/margins``, and the policy's summed ``logps/chosen`` and ``logps/rejected``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch

from olmo_train.objective import row_slices

from olmo_adapt.dpo.loss import preference_losses
from olmo_adapt.logprobs import sequence_logps

__all__ = ["DPOObjective", "pair_sums", "sums_to_metrics"]

Batch = dict[str, Any]


def pair_sums(model: torch.nn.Module, batch: Batch, reference: torch.Tensor, *, loss: str,
              beta: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``(per-pair losses, summed metrics)`` of a batch of pairs; ``reference`` is the ``(pairs, 2)`` table."""
    ids = torch.cat((batch["chosen_ids"], batch["rejected_ids"]))
    labels = torch.cat((batch["chosen_labels"], batch["rejected_labels"]))
    logps, counts = sequence_logps(model, ids, labels)
    policy_chosen, policy_rejected = logps.chunk(2)
    chosen_tokens, rejected_tokens = counts.chunk(2)
    ref = reference.to(logps.device)[batch["index"]]
    out = preference_losses(policy_chosen, policy_rejected, ref[:, 0], ref[:, 1], chosen_tokens, rejected_tokens,
                            loss=loss, beta=beta)
    margins = out.chosen_rewards - out.rejected_rewards
    sums = {"loss": out.losses.detach().sum(), "chosen": out.chosen_rewards.sum(),
            "rejected": out.rejected_rewards.sum(), "correct": (margins > 0).sum().float(), "margin": margins.sum(),
            "logps_chosen": policy_chosen.detach().sum(), "logps_rejected": policy_rejected.detach().sum()}
    return out.losses, sums


def sums_to_metrics(sums: dict[str, float], pairs: float) -> dict[str, float]:
    """Means over ``pairs`` with TRL's metric names."""
    return {"loss": sums["loss"] / pairs, "rewards/chosen": sums["chosen"] / pairs,
            "rewards/rejected": sums["rejected"] / pairs, "rewards/accuracies": sums["correct"] / pairs,
            "rewards/margins": sums["margin"] / pairs, "logps/chosen": sums["logps_chosen"] / pairs,
            "logps/rejected": sums["logps_rejected"] / pairs}


class DPOObjective:
    """DPO, ``dpo_norm`` or IPO against a table of cached reference log-probabilities (set before training)."""

    def __init__(self, *, loss: str, beta: float) -> None:
        self.loss_type, self.beta = loss, beta
        self.reference: torch.Tensor | None = None

    def normalizer(self, batch: Batch) -> torch.Tensor:
        return torch.tensor(batch["index"].numel())

    def tokens(self, batch: Batch) -> int:
        return int(batch["chosen_ids"].numel() + batch["rejected_ids"].numel())

    def micro_batches(self, batch: Batch, size: int) -> Iterator[Batch]:
        return row_slices(batch, size)

    def loss(self, model: torch.nn.Module, micro_batch: Batch,
             normalizer: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if self.reference is None:
            raise RuntimeError("the reference log-probabilities were not computed before training")
        losses, sums = pair_sums(model, micro_batch, self.reference, loss=self.loss_type, beta=self.beta)
        return losses.sum() / normalizer, sums

    def metrics(self, sums: dict[str, float], normalizer: float) -> dict[str, float]:
        return sums_to_metrics(sums, normalizer)
