"""``single``: train on one device (a CPU or one GPU)."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from olmo_train.backends.base import PrecisionConfig, autocast_context, resolve_device, resolve_precision
from olmo_train.backends.configs import SingleDeviceConfig
from olmo_train.model_setup import apply_activation_checkpointing, apply_compile
from olmo_train.vendors import Vendor, configure_vendor

__all__ = ["SingleDevice", "SingleDeviceConfig", "prepare_plain_model"]


def prepare_plain_model(model: torch.nn.Module, config: PrecisionConfig, device: torch.device) -> torch.nn.Module:
    """Move ``model`` to ``device`` and apply activation checkpointing and compilation as configured."""
    model.to(device)
    if config.activation_checkpointing:
        apply_activation_checkpointing(model)
    if config.compile:
        apply_compile(model)
    return model


class SingleDevice:
    """One process, one device. Building it applies the defaults of the device's vendor
    (``olmo_select_train_backend``, as ``ddp`` and ``fsdp`` do when they join their process group): AMD's on a ROCm
    GPU; nothing on the CPU or on a device no plugin answers for."""

    rank = 0
    world_size = 1
    sharded = False

    def __init__(self, config: SingleDeviceConfig) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.precision = resolve_precision(config.precision, self.device)
        self.vendor: Vendor | None = configure_vendor(self.device)

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        return prepare_plain_model(model, self.config, self.device)

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        return autocast_context(self.device, self.precision)

    def micro_step(self, model: torch.nn.Module, *, last: bool) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def barrier(self) -> None:
        pass

    def all_reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        return tensor

    def clip_grad_norm(self, model: torch.nn.Module, max_norm: float) -> torch.Tensor:
        return torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)

    def close(self) -> None:
        pass
