"""Joining the job's process group: under torchrun (or ``launcher.nproc``), under Slurm, or alone.

Under ``torchrun`` (and the ``launcher.nproc`` launcher, which is torchrun's agent) each worker finds
``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in its environment and joins
through ``env://``. A Slurm task (``srun``, or Hydra's submitit launcher) of a job with several tasks gets
them from Slurm's variables (through ``submitit``). A process started without any of them is a job of one:
it gets a group of its own, so that ``backend=ddp`` and ``backend=fsdp`` run (and are tested) in a single
process too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from olmo_core.errors import ConfigError, install_command
from olmo_train.backends.base import resolve_device, resolve_precision
from olmo_train.backends.configs import DistributedConfig
from olmo_train.vendors import Vendor, select_vendor

__all__ = ["Collectives", "DistributedConfig", "ProcessGroup", "join_process_group", "leave_process_group"]


@dataclass(frozen=True, kw_only=True)
class ProcessGroup:
    """Where this process sits in the job."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    precision: str
    vendor: Vendor
    owned: bool
    """Whether this backend created the default process group (and so destroys it on close)."""


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    try:
        return default if value is None else int(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} in the environment is not an integer") from None


def _export_slurm_environment() -> None:
    """Set torch's ``env://`` variables from Slurm's in a task of a multi-task Slurm job."""
    if "RANK" in os.environ or "SLURM_JOB_ID" not in os.environ or _env_int("SLURM_NTASKS", 1) <= 1:
        return
    try:
        from submitit.helpers import TorchDistributedEnvironment
    except ImportError:
        raise ConfigError(f"a multi-task Slurm job needs submitit to find its peers: install it with "
                          f"{install_command('olmo-core[slurm]')}; or start the ranks with torchrun") from None
    TorchDistributedEnvironment().export(set_cuda_visible_devices=False)


def join_process_group(config: DistributedConfig) -> ProcessGroup:
    """Initialize (or reuse) the default process group with the vendor's backend and ``config.timeout_s``."""
    _export_slurm_environment()
    local_rank = _env_int("LOCAL_RANK", 0)
    device = resolve_device(config.device, local_rank=local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    vendor = select_vendor(device)
    vendor.configure()
    owned = not dist.is_initialized()
    if owned:
        timeout = timedelta(seconds=config.timeout_s)
        if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
            dist.init_process_group(vendor.process_group_backend, init_method="env://", timeout=timeout,
                                    device_id=device if device.type == "cuda" else None)
        else:
            dist.init_process_group(vendor.process_group_backend, store=dist.HashStore(), rank=0, world_size=1,
                                    timeout=timeout)
    return ProcessGroup(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank,
                        device=device, precision=resolve_precision(config.precision, device), vendor=vendor,
                        owned=owned)


def leave_process_group(group: ProcessGroup) -> None:
    """Destroy the default process group if this backend created it."""
    if group.owned and dist.is_initialized():
        dist.destroy_process_group()


class Collectives:
    """What every process-group backend does the same way: join the job's group, wait for all ranks, sum over
    them, and leave the group."""

    def __init__(self, config: DistributedConfig) -> None:
        self.config = config
        self.group = join_process_group(config)
        self.rank, self.world_size = self.group.rank, self.group.world_size
        self.device, self.precision = self.group.device, self.group.precision

    def close(self) -> None:
        leave_process_group(self.group)

    def barrier(self) -> None:
        dist.barrier()

    def all_reduce(self, tensor: torch.Tensor) -> torch.Tensor:
        dist.all_reduce(tensor)
        return tensor
