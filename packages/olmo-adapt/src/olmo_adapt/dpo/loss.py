"""The preference losses and their implicit rewards, per pair.

With ``π`` and ``ref`` the policy's and reference's log-probability of an answer (summed over its tokens for
``dpo``; divided by its token count for ``dpo_norm`` and ``ipo``) and ``z = (π_c - ref_c) - (π_r - ref_r)``:

- ``dpo``: ``-log σ(β z)`` (Rafailov et al. 2023; the OLMo paper: β = 0.1);
- ``dpo_norm``: the same on length-normalized log-probabilities (open-instruct's ``dpo_norm``, TRL's
  ``sigmoid_norm``; Tulu 3 and OLMo 2 use β = 5);
- ``ipo``: ``(z - 1/(2β))²`` on length-normalized log-probabilities (Azar et al. 2023, as TRL computes it).

The rewards are ``β (π - ref)`` with the same log-probabilities the loss uses, so ``rewards/accuracies`` (the
fraction of pairs whose chosen reward is strictly higher) agrees with the sign of ``z``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from olmo_adapt.dpo.config import LOSSES

__all__ = ["LOSSES", "PairLosses", "preference_losses"]


@dataclass(frozen=True)
class PairLosses:
    """Per-pair loss and rewards."""

    losses: torch.Tensor
    chosen_rewards: torch.Tensor
    rejected_rewards: torch.Tensor


def preference_losses(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, ref_chosen: torch.Tensor,
                      ref_rejected: torch.Tensor, chosen_tokens: torch.Tensor, rejected_tokens: torch.Tensor, *,
                      loss: str, beta: float) -> PairLosses:
    """Losses of pairs from the summed log-probabilities of their answers and the answers' token counts."""
    if loss not in LOSSES:
        raise ValueError(f"unknown preference loss {loss!r}: use one of {', '.join(LOSSES)}")
    chosen = policy_chosen - ref_chosen
    rejected = policy_rejected - ref_rejected
    if loss != "dpo":
        chosen, rejected = chosen / chosen_tokens, rejected / rejected_tokens
    z = chosen - rejected
    losses = (z - 1 / (2 * beta)) ** 2 if loss == "ipo" else -F.logsigmoid(beta * z)
    return PairLosses(losses, beta * chosen.detach(), beta * rejected.detach())
