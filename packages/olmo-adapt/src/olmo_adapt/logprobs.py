"""Per-sequence log-probabilities of the labelled tokens, in fp32 (float64 for a float64 model)."""

from __future__ import annotations

import torch

from olmo_train.loss import IGNORE

__all__ = ["sequence_logps"]


def sequence_logps(model: torch.nn.Module, input_ids: torch.Tensor,
                   labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sum of log p(label), number of labels)`` per row of ``labels`` ``(rows, seq)``.

    ``labels[r, t]`` is the token position ``t`` predicts, or ``-100``. The model computes only the labelled
    positions' log-probabilities (``label_logps=True``), never the full logits, so prompts and padding cost
    nothing in the LM head.
    """
    token_logps = model(input_ids, labels=labels, label_logps=True)
    return token_logps.sum(dim=-1), (labels != IGNORE).sum(dim=-1)
