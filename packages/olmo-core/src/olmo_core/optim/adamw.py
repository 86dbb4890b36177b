"""AdamW with OLMo's parameter groups: weight decay on linear weights only, unless asked otherwise."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from olmo_core.config import non_negative, positive
from olmo_core.errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:
    import torch

__all__ = ["AdamWConfig", "build_adamw", "param_groups"]


@dataclass(kw_only=True)
class AdamWConfig:
    """AdamW as OLMo trains with it."""

    lr: float = non_negative(4e-4)
    """Peak learning rate (the schedule scales it per step)."""
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])
    """Adam's (beta1, beta2)."""
    eps: float = positive(1e-5)
    """Adam's epsilon (OLMo-1: 1e-5; OLMo-2: 1e-8)."""
    weight_decay: float = non_negative(0.1)
    """Decoupled weight decay on the decayed group."""
    decay_norm_and_bias: bool = False
    """Also decay norm weights and biases (every parameter with fewer than 2 dimensions)."""
    decay_embeddings: bool = False
    """Also decay embedding tables."""
    fused: bool | None = None
    """Use torch's fused kernel; ``None``: fused when every parameter is a plain CPU tensor (torch would loop over
    the parameters one by one there, several times slower), torch's own choice otherwise."""


def param_groups(model: torch.nn.Module, config: AdamWConfig) -> list[dict[str, Any]]:
    """Two groups, ``decay`` and ``no_decay``, each with its parameter names, following ``config``."""
    import torch

    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    decay: dict[str, torch.nn.Parameter] = {}
    no_decay: dict[str, torch.nn.Parameter] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if id(param) in embeddings:
            target = decay if config.decay_embeddings else no_decay
        elif param.ndim < 2:
            target = decay if config.decay_norm_and_bias else no_decay
        else:
            target = decay
        target[name] = param
    groups = [
        {"params": list(decay.values()), "param_names": list(decay), "weight_decay": config.weight_decay,
         "group": "decay"},
        {"params": list(no_decay.values()), "param_names": list(no_decay), "weight_decay": 0.0, "group": "no_decay"},
    ]
    return [g for g in groups if g["params"]]


def build_adamw(config: AdamWConfig, *, model: torch.nn.Module) -> torch.optim.Optimizer:
    """``torch.optim.AdamW`` over ``model`` with OLMo's parameter groups; each group keeps its peak lr in
    ``initial_lr`` for the schedule."""
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("optimizers", distribution="olmo-core", extra="torch") from None
    if len(config.betas) != 2:
        raise ConfigError(f"optimizer betas must be two numbers, got {config.betas}")
    groups = param_groups(model, config)
    for group in groups:
        group["initial_lr"] = config.lr
    fused = config.fused if config.fused is not None else _fused_by_default(groups)
    return torch.optim.AdamW(groups, lr=config.lr, betas=(config.betas[0], config.betas[1]), eps=config.eps,
                             weight_decay=config.weight_decay, fused=fused)


def _fused_by_default(groups: list[dict[str, Any]]) -> bool | None:
    """``True`` when every parameter is a plain floating-point CPU tensor, else ``None`` (torch chooses)."""
    import torch

    params = [p for group in groups for p in group["params"]]
    plain = all(type(p) is torch.nn.Parameter and p.device.type == "cpu" and p.is_floating_point() for p in params)
    return True if params and plain else None
