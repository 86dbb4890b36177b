"""``fsdp``: FSDP2 (``fully_shard``) over the plain model, block by block and then at the root.

Parameters, gradients and optimizer state are sharded over the ranks of a 1-D device mesh, or, with
``replicas > 1``, sharded within groups and replicated across them (hybrid sharding over a 2-D
``(replicate, shard)`` mesh: shard within a node, replicate across nodes). On a GPU, parameters are
gathered in bf16 for compute and gradients reduced in fp32, over fp32 sharded master weights.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import torch
from torch.distributed.device_mesh import DeviceMesh, init_device_mesh
from torch.distributed.fsdp import FSDPModule, MixedPrecisionPolicy, fully_shard
from torch.distributed.tensor import DTensor

from olmo_train.backends.configs import FSDPConfig, check_replicas
from olmo_train.backends.process_group import Collectives
from olmo_train.backends.single import prepare_plain_model
from olmo_train.model_setup import blocks_of

__all__ = ["FSDPBackend", "FSDPConfig", "apply_fsdp", "device_mesh"]


def device_mesh(device: torch.device, world_size: int, replicas: int) -> DeviceMesh:
    """A 1-D ``(shard,)`` mesh, or the 2-D ``(replicate, shard)`` mesh of hybrid sharding."""
    check_replicas(replicas, world_size)
    if replicas == 1:
        return init_device_mesh(device.type, (world_size,), mesh_dim_names=("shard",))
    return init_device_mesh(device.type, (replicas, world_size // replicas), mesh_dim_names=("replicate", "shard"))


def apply_fsdp(model: torch.nn.Module, mesh: DeviceMesh, *, precision: str, reshard_after_forward: bool) -> None:
    """``fully_shard`` each block, then the root (embedding, final norm, LM head), in place.

    Gradients are *summed* over ranks (the trainer's loss is already divided by the step's labelled tokens
    over all ranks), so FSDP's averaging is turned off: divide factor 1 and plain sum reductions.
    """
    # OLMo blocks also return their attention keys and values (transposed views, for the KV cache); nothing
    # modifies them in place, which is what this warning is about.
    warnings.filterwarnings("ignore", message=r"FSDP2-wrapped module \(FSDPOLMoBlock\) returned a view tensor")
    policy = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32) \
        if precision == "bf16" else MixedPrecisionPolicy()
    for block in blocks_of(model):
        fully_shard(block, mesh=mesh, mp_policy=policy, reshard_after_forward=reshard_after_forward)
    fully_shard(model, mesh=mesh, mp_policy=policy, reshard_after_forward=reshard_after_forward)
    for module in model.modules():
        if isinstance(module, FSDPModule):
            module.set_gradient_divide_factor(1.0)
            module.set_force_sum_reduction_for_comms(True)


class FSDPBackend(Collectives):
    """FSDP2 over the job's process group (NCCL, RCCL or gloo, as the vendor says)."""

    sharded = True
    config: FSDPConfig

    def __init__(self, config: FSDPConfig) -> None:
        super().__init__(config)
        self.mesh = device_mesh(self.device, self.world_size, config.replicas)

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        model = prepare_plain_model(model, self.config, self.device)
        apply_fsdp(model, self.mesh, precision=self.precision, reshard_after_forward=self.config.reshard_after_forward)
        return model

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()  # FSDP's mixed-precision policy casts the gathered parameters

    @contextlib.contextmanager
    def micro_step(self, model: torch.nn.Module, *, last: bool) -> Any:
        model.set_requires_gradient_sync(last)  # type: ignore[operator]
        try:
            yield
        finally:
            model.set_requires_gradient_sync(True)  # type: ignore[operator]

    def clip_grad_norm(self, model: torch.nn.Module, max_norm: float) -> torch.Tensor:
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
        return norm.full_tensor() if isinstance(norm, DTensor) else norm
