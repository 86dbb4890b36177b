"""``speed``: tokens per second and model FLOPs utilization of each step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from olmo_core.callbacks import Callback, TrainerView
from olmo_core.config import positive

from olmo_train.accounting import H100_BF16_PEAK, flops_per_token

__all__ = ["SpeedCallback", "SpeedConfig"]


@dataclass(kw_only=True)
class SpeedConfig:
    """Options of the speed callback."""

    peak_tflops: float | None = positive(None)
    """Peak TFLOP/s of one device for MFU (default: 989, H100 SXM bf16 dense, on CUDA; on a CPU MFU is
    reported only when this is given)."""
    seq_len: int | None = positive(None)
    """Sequence length for the attention FLOPs (default: the batch's)."""


class SpeedCallback(Callback):
    """Adds ``tokens_per_second`` (all ranks) and ``mfu`` (per device) to each step's metrics."""

    order = 10

    def __init__(self, config: SpeedConfig) -> None:
        self.config = config
        self._flops: float | None = None

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        speed = metrics["tokens"] / metrics["seconds"]
        metrics["tokens_per_second"] = speed
        seq_len = self.config.seq_len or metrics.get("seq_len")
        model = getattr(trainer, "plain_model", trainer.model)
        if self._flops is None and seq_len:
            self._flops = flops_per_token(model, seq_len)
        peak = self.config.peak_tflops * 1e12 if self.config.peak_tflops else \
            (H100_BF16_PEAK if trainer.device.type == "cuda" else None)
        metrics["mfu"] = speed * self._flops / (peak * trainer.world_size) if self._flops and peak else None
