"""The contract of a training backend."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import torch

__all__ = ["Backend", "PrecisionConfig", "autocast_context", "available_devices", "check_device", "resolve_device",
           "resolve_precision"]


@dataclass(kw_only=True)
class PrecisionConfig:
    """Where and in which precision to train (shared by every backend's config)."""

    device: str = "auto"
    """``auto`` (the local CUDA device when there is one, else ``cpu``), ``cpu``, ``cuda`` or ``cuda:<n>``; a
    device this machine lacks is refused before the run starts."""
    precision: str = "auto"
    """``fp32``, or ``bf16`` (autocast with fp32 master weights; meant for GPUs: it runs on a CPU too, but a CPU
    without bf16 units gains no speed from it); ``auto`` is bf16 on CUDA and fp32 elsewhere."""
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


def available_devices() -> list[str]:
    """The values of ``backend.device`` that this machine can train on: ``auto``, ``cpu``, and ``cuda`` with
    ``cuda:<n>`` for each CUDA device torch sees (``mps`` where there is one)."""
    import torch

    names = ["auto", "cpu"]
    if torch.cuda.is_available():
        names += ["cuda", *(f"cuda:{n}" for n in range(torch.cuda.device_count()))]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return names


def check_device(spec: str) -> None:
    """Refuse a ``backend.device`` that names no device, or one this machine lacks, in one line that lists
    the available ones."""
    from olmo_core.errors import ConfigError

    available = available_devices()
    if spec in available:
        return
    import torch

    try:
        device = torch.device(spec)
    except (RuntimeError, TypeError, ValueError):
        raise ConfigError(f"backend.device={spec} is not a device: use one of {', '.join(available)}") from None
    if device.type == "cpu":
        return
    raise ConfigError(f"backend.device={spec} is not available on this machine: use one of {', '.join(available)}")


def resolve_device(spec: str, *, local_rank: int = 0) -> torch.device:
    """The ``torch.device`` that ``spec`` names (``auto``: the local GPU when there is one); a device that is
    not available here is refused (:func:`check_device`)."""
    import torch

    check_device(spec)
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
