"""The language-modelling loss as OLMo normalizes it.

Cross-entropy is summed over the labelled tokens of a micro-batch and divided by the number of labelled
tokens of the whole optimizer step (all micro-batches, all ranks), so that the gradient does not depend on
how the step is split. The optional z-loss adds ``multiplier * logsumexp(logits)^2`` per labelled token,
normalized the same way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["IGNORE", "labels_for", "step_loss"]

IGNORE = -100


def labels_for(input_ids: torch.Tensor) -> torch.Tensor:
    """Next-token labels: each position predicts the following token; the last position predicts nothing."""
    return F.pad(input_ids[:, 1:], (0, 1), value=IGNORE)


def step_loss(logits: torch.Tensor, labels: torch.Tensor, *, step_tokens: int | torch.Tensor,
              z_loss: float = 0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(loss to backpropagate, summed cross-entropy, summed z-loss)`` of one micro-batch.

    ``step_tokens`` is the labelled-token count of the whole optimizer step; the returned loss is this
    micro-batch's share of the step's mean loss.
    """
    flat_logits = logits.reshape(-1, logits.shape[-1]).float()
    flat_labels = labels.reshape(-1)
    ce_sum = F.cross_entropy(flat_logits, flat_labels, ignore_index=IGNORE, reduction="sum")
    loss = ce_sum / step_tokens
    z_sum = None
    if z_loss:
        mask = flat_labels != IGNORE
        z_sum = torch.logsumexp(flat_logits[mask], dim=-1).pow(2).sum()
        loss = loss + z_loss * z_sum / step_tokens
    return loss, ce_sum.detach(), None if z_sum is None else z_sum.detach()
