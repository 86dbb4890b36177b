"""Registration of the built-in optimizers and schedules."""

from __future__ import annotations

import functools

from olmo_core.optim.adamw import AdamWConfig, build_adamw
from olmo_core.optim.scheduler import ConstantConfig, CosineWithWarmupConfig, LinearWithWarmupConfig, Schedule
from olmo_core.registry import Register


def register_optimizers(register: Register) -> None:
    register("adamw", build_adamw, config=AdamWConfig,
             help="AdamW with OLMo's parameter groups (no decay on norms, biases or embeddings unless asked)")


def register_schedulers(register: Register) -> None:
    register("constant", functools.partial(Schedule, shape="constant"), config=ConstantConfig,
             help="the peak learning rate after an optional warmup")
    register("cosine_with_warmup", functools.partial(Schedule, shape="cosine"), config=CosineWithWarmupConfig,
             aliases=("cosine",), help="linear warmup, cosine decay to alpha_f of the peak, optional anneal to 0")
    register("linear_with_warmup", functools.partial(Schedule, shape="linear"), config=LinearWithWarmupConfig,
             aliases=("linear",), help="linear warmup, linear decay to alpha_f of the peak, optional anneal to 0")
