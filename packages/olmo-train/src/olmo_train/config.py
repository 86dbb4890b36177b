"""The configuration of ``olmo train``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from olmo_core.config import component, components, non_negative, positive

from olmo_train.callbacks import DEFAULT_CALLBACKS
from olmo_train.launch import LauncherConfig

__all__ = ["TrainConfig"]


@dataclass(kw_only=True)
class TrainConfig:
    """Options of ``olmo train`` and of the pipeline's ``pretrain`` stage (``stages.pretrain.<option>``); the token
    arrays and the run directory are the job's input (``data=[...]``) and output (``output=<dir>``)."""

    model: Any = component("models", default="olmo-tiny", help="architecture or preset")
    optim: Any = component("optimizers", default="adamw", help="optimizer")
    scheduler: Any = component("schedulers", default="cosine_with_warmup", help="learning-rate schedule")
    backend: Any = component("train_backends", default="single",
                             help="where and how to train: single (one device), ddp, fsdp")
    launcher: LauncherConfig = field(default_factory=LauncherConfig)
    """``launcher.nproc=N`` starts N workers on this machine (or run under torchrun or Slurm instead)."""
    callbacks: Any = components("callbacks", default=DEFAULT_CALLBACKS,
                                help="what runs around each step: checkpoints, metrics, progress, evaluation ...")
    init_from: str | None = None
    """Start from the weights of this checkpoint (a step directory) instead of a fresh initialization."""
    seq_len: int = positive(256)
    """Tokens per instance."""
    global_batch_size: int = positive(8192)
    """Tokens per optimizer step over all ranks (a whole number of instances)."""
    micro_batch_size: int = positive(8)
    """Instances per forward/backward pass; each rank accumulates its share of the batch over micro-batches."""
    max_steps: int = positive(100)
    """Optimizer steps to train for."""
    seed: int = non_negative(0)
    """Seed of initialization and of the data order."""
    grad_clip: float | None = positive(1.0)
    """Clip the global gradient norm to this (``null``: no clipping)."""
    z_loss: float = non_negative(0.0)
    """Z-loss multiplier (OLMo-2: 1e-5)."""
    doc_masking: bool = False
    """Keep attention within documents."""
    threads: int | None = positive(None)
    """CPU threads for torch (default: torch's choice)."""
