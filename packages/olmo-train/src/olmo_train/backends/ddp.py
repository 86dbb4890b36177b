"""``ddp``: every rank holds the whole model; gradients are summed across ranks once per step."""

import contextlib
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from olmo_train.backends.base import autocast_context
from olmo_train.backends.configs import DDPConfig
from olmo_train.backends.process_group import Collectives
from olmo_train.backends.single import prepare_plain_model

__all__ = ["DDPBackend", "DDPConfig", "sum_gradients_hook"]


def sum_gradients_hook(state: Any, bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
    """A DDP communication hook that sums a gradient bucket over ranks (DDP's default averages).

    The trainer divides each rank's loss by the labelled tokens of the whole step on *all* ranks, so the
    step's gradient is the sum of the ranks' gradients.
    """
    work = dist.all_reduce(bucket.buffer(), async_op=True)
    return work.get_future().then(lambda fut: fut.value()[0])  # type: ignore[union-attr]


class DDPBackend(Collectives):
    """DistributedDataParallel over the job's process group (NCCL, RCCL or gloo, as the vendor says)."""

    sharded = False
    config: "DDPConfig"

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        model = prepare_plain_model(model, self.config, self.device)
        wrapped = DistributedDataParallel(model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                                          bucket_cap_mb=self.config.bucket_cap_mb)
        wrapped.register_comm_hook(None, sum_gradients_hook)
        return wrapped

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        return autocast_context(self.device, self.precision)

    def micro_step(self, model: torch.nn.Module, *, last: bool) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext() if last else model.no_sync()  # type: ignore[operator]

    def clip_grad_norm(self, model: torch.nn.Module, max_norm: float) -> torch.Tensor:
        return torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)  # gradients are whole on every rank
