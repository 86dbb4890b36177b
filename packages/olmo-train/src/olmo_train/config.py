"""The configuration of ``olmo train``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from olmo_core.config import REQUIRED, component

__all__ = ["TrainConfig"]


@dataclass(kw_only=True)
class TrainConfig:
    """Options of ``olmo train``."""

    name: str = "train"
    """Run name: the run directory is ``<runs_dir>/<name>``."""
    runs_dir: str = "runs"
    """Where run directories live."""
    model: Any = component("models", default="olmo-tiny", help="architecture or preset")
    optim: Any = component("optimizers", default="adamw", help="optimizer")
    scheduler: Any = component("schedulers", default="cosine_with_warmup", help="learning-rate schedule")
    data: list[str] = field(default_factory=lambda: [REQUIRED])
    """Token-array directories (``olmo data tokenize`` output, or Dolma/OLMo ``.npy`` directories)."""
    seq_len: int = 256
    """Tokens per instance."""
    global_batch_size: int = 8192
    """Tokens per optimizer step (a whole number of instances)."""
    micro_batch_size: int = 8
    """Instances per forward/backward pass; the global batch is accumulated over micro-batches."""
    max_steps: int = 100
    """Optimizer steps to train for."""
    seed: int = 0
    """Seed of initialization and of the data order."""
    grad_clip: float | None = 1.0
    """Clip the global gradient norm to this (``null``: no clipping)."""
    z_loss: float = 0.0
    """Z-loss multiplier (OLMo-2: 1e-5)."""
    doc_masking: bool = False
    """Keep attention within documents."""
    save_interval: int = 50
    """Save a checkpoint every this many steps (and at the end)."""
    keep_last: int = 2
    """Checkpoints kept besides permanent ones."""
    permanent_interval: int | None = None
    """Checkpoints at multiples of this step are never removed."""
    on_nan: str = "stop"
    """What a NaN or infinite loss does: ``stop`` (with a diagnosis) or ``skip`` the step."""
    threads: int | None = None
    """CPU threads for torch (default: torch's choice)."""
    peak_tflops: float | None = None
    """Peak TFLOP/s of the device for MFU (default: 989, H100 bf16 dense, on CUDA; no MFU on a CPU unless set)."""
    watts: float = 30.0
    """Power drawn while training, for the energy estimate when it cannot be measured (NVML)."""
    carbon_intensity: float = 0.4
    """Kilograms of CO2 per kWh of the electricity used."""
