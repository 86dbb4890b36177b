"""Learning-rate schedules: constant, and linear warmup followed by cosine or linear decay.

Warmup rises linearly from ``warmup_start_fraction * peak`` (OLMo's default start is 10% of the peak) to the
peak over ``warmup_steps``; decay then falls to ``alpha_f * peak`` at the end of the run, or at the start of
an optional final linear anneal to 0 over the last ``anneal_steps``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from olmo_core.config import non_negative
from olmo_core.errors import ConfigError

__all__ = ["ConstantConfig", "CosineWithWarmupConfig", "LinearWithWarmupConfig", "Schedule"]


@dataclass(kw_only=True)
class ConstantConfig:
    """The peak learning rate at every step, after an optional warmup."""

    warmup_steps: int = non_negative(0)
    """Steps of linear warmup."""
    warmup_start_fraction: float = non_negative(0.1)
    """Learning rate at step 0, as a fraction of the peak."""


@dataclass(kw_only=True)
class CosineWithWarmupConfig(ConstantConfig):
    """Linear warmup, then cosine decay to ``alpha_f`` of the peak (OLMo-1B)."""

    warmup_steps: int = non_negative(2000)
    alpha_f: float = non_negative(0.1)
    """Final learning rate of the decay, as a fraction of the peak."""
    anneal_steps: int = non_negative(0)
    """Steps of a final linear anneal from the decayed rate to 0 (0: none)."""


@dataclass(kw_only=True)
class LinearWithWarmupConfig(CosineWithWarmupConfig):
    """Linear warmup, then linear decay to ``alpha_f`` of the peak (OLMo-7B)."""

    warmup_steps: int = non_negative(5000)


class Schedule:
    """``lr(step, max_steps, peak_lr)``: the learning rate of optimizer step ``step`` (0-based)."""

    def __init__(self, config: Any, *, shape: str) -> None:
        if shape not in ("constant", "cosine", "linear"):
            raise ConfigError(f"unknown schedule shape {shape!r}")
        self.config, self.shape = config, shape

    def lr(self, step: int, max_steps: int, peak_lr: float) -> float:
        """The learning rate at ``step`` of a run of ``max_steps`` steps."""
        c = self.config
        warmup = c.warmup_steps
        if step < warmup:
            start = c.warmup_start_fraction * peak_lr
            return start + (peak_lr - start) * step / warmup
        if self.shape == "constant":
            return peak_lr
        floor = c.alpha_f * peak_lr
        decay_end = max(max_steps - c.anneal_steps, warmup)
        if step >= decay_end:
            if c.anneal_steps <= 0:
                return floor
            return floor * max(0.0, (max_steps - step) / c.anneal_steps)
        progress = (step - warmup) / max(decay_end - warmup, 1)
        if self.shape == "cosine":
            return floor + (peak_lr - floor) * (1 + math.cos(math.pi * progress)) / 2
        return peak_lr - (peak_lr - floor) * progress

    def set_lr(self, optimizer: Any, step: int, max_steps: int) -> float:
        """Set every parameter group's ``lr`` from its ``initial_lr`` (peak); return the first group's."""
        rates = []
        for group in optimizer.param_groups:
            group["lr"] = self.lr(step, max_steps, group.get("initial_lr", group["lr"]))
            rates.append(group["lr"])
        return rates[0] if rates else 0.0
