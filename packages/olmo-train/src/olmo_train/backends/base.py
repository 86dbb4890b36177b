"""The contract of a training backend."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch

__all__ = ["Backend", "PrecisionConfig", "autocast_context", "resolve_device", "resolve_precision"]


@dataclass(kw_only=True)
class PrecisionConfig:
    """Where and in which precision to train (shared by every backend's config)."""

    device: str = "auto"
    """``auto`` (the local CUDA device when there is one, else ``cpu``), ``cpu``, ``cuda``."""
    precision: str = "auto"
    """``fp32``, or ``bf16`` (autocast with fp32 master weights; GPUs only: CPUs here lack bf16 units);
    ``auto`` is bf16 on CUDA and fp32 elsewhere."""
    compile: bool = False
    """``torch.compile`` each transformer block."""
    activation_checkpointing: bool = False
    """Recompute block activations in the backward pass to save memory."""


class Backend(Protocol):
    """Places a model for training and lets processes cooperate."""

    rank: int
    world_size: int
    device: torch.device
    sharded: bool
    """Whether parameters and optimizer state are sharded over processes (checkpoints are then written by
    every rank, through torch distributed checkpoint); otherwise rank 0 writes whole checkpoints."""

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        """Move ``model`` to the device and wrap it for training; return the module to call."""

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The context the forward pass runs in (mixed precision)."""

    def micro_step(self, model: torch.nn.Module, *, last: bool) -> contextlib.AbstractContextManager[Any]:
        """The context of one micro-batch's forward and backward: gradients are reduced across processes
        only in the ``last`` micro-batch of a step (DDP's ``no_sync``, FSDP's gradient-sync switch)."""

    def barrier(self) -> None:
        """Wait until every process gets here."""

    def all_reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        """Sum ``tensor`` over all processes (in place where possible) and return it."""

    def clip_grad_norm(self, model: torch.nn.Module, max_norm: float) -> torch.Tensor:
        """Clip the global gradient norm over all processes; return the norm before clipping."""

    def close(self) -> None:
        """Release process groups and devices."""


def resolve_device(spec: str, *, local_rank: int = 0) -> torch.device:
    """The ``torch.device`` that ``spec`` names (``auto``: the local GPU when there is one)."""
    import torch

    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec == "cuda":
        return torch.device("cuda", local_rank)
    return torch.device(spec)


def resolve_precision(spec: str, device: torch.device) -> str:
    """``fp32`` or ``bf16`` for ``spec`` on ``device``."""
    from olmo_core.errors import ConfigError

    if spec == "auto":
        return "bf16" if device.type == "cuda" else "fp32"
    if spec not in ("fp32", "bf16"):
        raise ConfigError(f"backend.precision must be 'auto', 'fp32' or 'bf16', not {spec!r}")
    return spec


def autocast_context(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on ``device`` for ``precision='bf16'``, else nothing."""
    import torch

    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
