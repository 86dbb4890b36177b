"""Per-sequence log-probabilities of the labelled tokens, in fp32 (or float64 from float64 logits)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from olmo_train.loss import IGNORE

__all__ = ["sequence_logps"]


def sequence_logps(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sum of log p(label), number of labels)`` per row of ``labels`` ``(rows, seq)``.

    ``labels[r, t]`` is the token position ``t`` predicts, or ``-100``. Only labelled positions go through the
    fp32 log-softmax, so prompts and padding cost nothing.
    """
    mask = labels != IGNORE
    dtype = torch.promote_types(logits.dtype, torch.float32)
    picked = F.cross_entropy(logits[mask].to(dtype), labels[mask], reduction="none")
    rows = mask.nonzero()[:, 0]
    sums = torch.zeros(labels.shape[0], dtype=dtype, device=logits.device).index_add(0, rows, -picked)
    return sums, mask.sum(dim=-1)
