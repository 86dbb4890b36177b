"""Speed, model FLOPs utilization and energy: what a training step costs.

FLOPs per token follow the OLMo papers' convention: ``6 * N + 12 * n_layers * d_model * seq_len``, where N
counts the non-embedding parameters plus the LM head's matmul (``d_model * embedding_size``), which every
token pays. MFU divides achieved FLOP/s by the device's peak (H100 SXM bf16 dense: 989 TFLOP/s).

Energy comes from NVML when an NVIDIA GPU and ``pynvml`` are present: the board power, read once as the step
ends, times the step's seconds (not integrated over the step: a step whose power varies is approximated by its
last reading); otherwise it is a configured power draw times the step's seconds. The energy callback multiplies
either by the number of processes (rank 0's reading stands for every rank). CO2 is energy times a configured
carbon intensity.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["EnergyMeter", "flops_per_token"]

H100_BF16_PEAK = 989e12


def flops_per_token(model: Any, seq_len: int) -> float | None:
    """Training FLOPs per token of an OLMo model (``None`` for a model without OLMo's config)."""
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "d_model"):
        return None
    from olmo_core.nn.config import num_non_embedding_params

    n = num_non_embedding_params(config) + config.d_model * config.embedding_size
    return 6.0 * n + 12.0 * config.n_layers * config.d_model * seq_len


@dataclass
class EnergyMeter:
    """Joules per step: the NVML board power (read once, when asked) times the step's seconds on NVIDIA GPUs, else
    ``watts`` times the step's seconds."""

    watts: float
    measured: bool = False
    _handle: Any = None

    @classmethod
    def create(cls, watts: float) -> EnergyMeter:
        try:
            import pynvml
            import torch

            if torch.cuda.is_available():
                pynvml.nvmlInit()
                handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
                return cls(watts, True, handle)
        except Exception:  # no NVML here: estimate instead
            pass
        return cls(watts)

    def joules(self, seconds: float) -> float:
        if self.measured:
            import pynvml

            return pynvml.nvmlDeviceGetPowerUsage(self._handle) / 1000.0 * seconds
        return self.watts * seconds
