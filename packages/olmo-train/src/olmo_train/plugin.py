"""olmo-train's built-in components, registered through the same hooks as any plugin."""

from __future__ import annotations

from typing import Any

from olmo_core.plugins import hookimpl
from olmo_core.registry import Register

from olmo_train.backends.configs import DDPConfig, FSDPConfig, SingleDeviceConfig
from olmo_train.callbacks.checkpoint import CheckpointCallback, CheckpointConfig
from olmo_train.callbacks.energy import EnergyCallback, EnergyConfig
from olmo_train.callbacks.loss_guard import LossGuard, LossGuardConfig
from olmo_train.callbacks.metrics import MetricsCallback, MetricsConfig
from olmo_train.callbacks.plots import PlotsCallback, PlotsConfig
from olmo_train.callbacks.progress import ProgressCallback, ProgressConfig
from olmo_train.callbacks.speed import SpeedCallback, SpeedConfig
from olmo_train.callbacks.tensorboard import TensorBoardCallback, TensorBoardConfig
from olmo_train.config import TrainConfig
from olmo_train.job import TrainJob
from olmo_train.data.inspect_batch import InspectBatchConfig, inspect_batch_command


@hookimpl(trylast=True)
def olmo_register_commands(register: Register) -> None:
    register("data inspect-batch", inspect_batch_command, config=InspectBatchConfig)


@hookimpl(trylast=True)
def olmo_register_jobs(register: Register) -> None:
    register("pretrain", TrainJob, config=TrainConfig)


def single(config: SingleDeviceConfig) -> Any:
    """One process, one device (a CPU or one GPU)."""
    from olmo_train.backends.single import SingleDevice

    return SingleDevice(config)


def ddp(config: DDPConfig) -> Any:
    """DistributedDataParallel: every rank holds the whole model; gradients are summed once per step."""
    from olmo_train.backends.ddp import DDPBackend

    return DDPBackend(config)


def fsdp(config: FSDPConfig) -> Any:
    """FSDP2: parameters, gradients and optimizer state sharded over the ranks, block by block."""
    from olmo_train.backends.fsdp import FSDPBackend

    return FSDPBackend(config)


@hookimpl(trylast=True)
def olmo_register_train_backends(register: Register) -> None:
    # torch loads when a backend is built, not when `olmo` starts
    register("single", single, config=SingleDeviceConfig)
    register("ddp", ddp, config=DDPConfig)
    register("fsdp", fsdp, config=FSDPConfig)


@hookimpl(trylast=True)
def olmo_select_train_backend(device: Any) -> Any:
    from olmo_train.vendors import builtin_vendor

    return builtin_vendor(device)


@hookimpl(trylast=True)
def olmo_register_callbacks(register: Register) -> None:
    register("checkpoint", CheckpointCallback, config=CheckpointConfig)
    register("metrics", MetricsCallback, config=MetricsConfig)
    register("tensorboard", TensorBoardCallback, config=TensorBoardConfig)
    register("progress", ProgressCallback, config=ProgressConfig)
    register("speed", SpeedCallback, config=SpeedConfig)
    register("energy", EnergyCallback, config=EnergyConfig)
    register("loss_guard", LossGuard, config=LossGuardConfig)
    register("plots", PlotsCallback, config=PlotsConfig)

