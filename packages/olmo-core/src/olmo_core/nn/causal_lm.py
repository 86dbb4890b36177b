"""A transformers causal LM behind olmo's model interface (loaded by :mod:`olmo_core.runtimes`)."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["CausalLM"]


class CausalLM(torch.nn.Module):
    """A transformers causal LM called as olmo calls its models: ``model(input_ids) -> logits``. Rows are
    padded on the right, so no attention mask is needed: no scored token attends to the padding."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.lm = model
        self.config = model.config

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.lm(input_ids=input_ids, use_cache=False).logits
