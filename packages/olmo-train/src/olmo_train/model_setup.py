"""Functions applied to a plain OLMo model before training: compilation and activation checkpointing.

Both work block by block and leave parameter names unchanged, so checkpoints do not depend on them.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.checkpoint import checkpoint

__all__ = ["apply_activation_checkpointing", "apply_compile", "blocks_of"]


def blocks_of(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The transformer blocks of ``model`` (an OLMo model, or any model with a ``blocks`` list)."""
    blocks = getattr(model, "blocks", None)
    if blocks is None:
        raise TypeError(f"{type(model).__name__} has no 'blocks' to apply per-block options to")
    return list(blocks)


def apply_activation_checkpointing(model: torch.nn.Module) -> None:
    """Recompute each block's activations in the backward pass instead of keeping them (less memory, ~1/3
    more compute)."""
    for block in blocks_of(model):
        forward = block.forward

        def checkpointed(*args: Any, _forward: Any = forward, **kwargs: Any) -> Any:
            if not torch.is_grad_enabled():
                return _forward(*args, **kwargs)
            return checkpoint(_forward, *args, use_reentrant=False, **kwargs)

        block.forward = checkpointed  # type: ignore[method-assign]


def apply_compile(model: torch.nn.Module, *, mode: str | None = None) -> None:
    """``torch.compile`` each block in place (parameter names are kept)."""
    for block in blocks_of(model):
        block.compile(mode=mode, dynamic=False)
