"""The backends' options, importable without torch (``olmo`` composes them before anything trains)."""

from __future__ import annotations

from dataclasses import dataclass

from olmo_core.config import positive

from olmo_train.backends.base import PrecisionConfig

__all__ = ["DDPConfig", "DistributedConfig", "FSDPConfig", "SingleDeviceConfig", "check_replicas"]


@dataclass(kw_only=True)
class SingleDeviceConfig(PrecisionConfig):
    """Options of the single-device backend."""


@dataclass(kw_only=True)
class DistributedConfig(PrecisionConfig):
    """Options shared by the distributed backends."""

    timeout_s: float = positive(600.0)
    """Seconds a collective may wait for the other ranks before the job fails (a dead or stuck rank)."""


@dataclass(kw_only=True)
class DDPConfig(DistributedConfig):
    """Options of the DDP backend."""

    bucket_cap_mb: float = positive(25.0)
    """Size of the gradient buckets that are all-reduced while the backward pass goes on."""


@dataclass(kw_only=True)
class FSDPConfig(DistributedConfig):
    """Options of the FSDP2 backend."""

    reshard_after_forward: bool = True
    """Free each block's gathered parameters after its forward pass and gather them again for the backward
    pass (ZeRO-3: least memory); ``false`` keeps them (ZeRO-2 like: less communication, more memory)."""
    replicas: int = positive(1)
    """Hybrid sharding: split the ranks into this many replica groups, each holding a full sharded copy
    (usually the number of nodes); 1 shards over all ranks."""


def check_replicas(replicas: int, world_size: int) -> None:
    """Refuse a hybrid-sharding ``backend.replicas`` that does not divide the world size (checked by ``olmo train``
    before any worker starts, and by the ``fsdp`` backend as it builds its mesh)."""
    from olmo_core.errors import ConfigError

    if replicas < 1 or world_size % replicas:
        raise ConfigError(f"backend.replicas={replicas} must be at least 1 and divide the world size {world_size}")
