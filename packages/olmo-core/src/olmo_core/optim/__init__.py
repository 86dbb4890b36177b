"""Optimizers and learning-rate schedules (configs are torch-free; building an optimizer needs torch)."""

from olmo_core.optim.adamw import AdamWConfig, build_adamw, param_groups
from olmo_core.optim.scheduler import ConstantConfig, CosineWithWarmupConfig, LinearWithWarmupConfig, Schedule

__all__ = ["AdamWConfig", "ConstantConfig", "CosineWithWarmupConfig", "LinearWithWarmupConfig", "Schedule",
           "build_adamw", "param_groups"]
