"""The language-modelling loss as OLMo normalizes it.

Cross-entropy is summed over the labelled tokens of a micro-batch and divided by the number of labelled
tokens of the whole optimizer step (all micro-batches, all ranks), so that the gradient does not depend on
how the step is split. The optional z-loss adds ``multiplier * logsumexp(logits)^2`` per labelled token,
normalized the same way. The sums come from the model itself (``model(input_ids, labels=...)``), which
computes them without materializing the logits (:mod:`olmo_core.nn.lm_loss`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from olmo_core.nn.lm_loss import IGNORE, LMLossSums

__all__ = ["IGNORE", "labels_for", "step_loss"]


def labels_for(input_ids: torch.Tensor) -> torch.Tensor:
    """Next-token labels: each position predicts the following token; the last position predicts nothing."""
    return F.pad(input_ids[:, 1:], (0, 1), value=IGNORE)


def step_loss(sums: LMLossSums, *, step_tokens: int | torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """``(loss to backpropagate, summed cross-entropy, summed z-loss)`` of one micro-batch.

    ``sums`` are the model's summed loss terms over the micro-batch; ``step_tokens`` is the labelled-token
    count of the whole optimizer step, so the returned loss is this micro-batch's share of the step's mean.
    """
    return sums.total / step_tokens, sums.ce, sums.z
