"""Shared helpers of the trainer tests: a small model and its composed options (token arrays: ``tokens``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmo_core.plugins import get_host
from olmo_train.config import TrainConfig

SMALL_MODEL = ["model.d_model=32", "model.n_heads=2", "model.n_layers=2", "model.mlp_hidden_size=128",
               "model.max_sequence_length=64"]


def config(tokens: Path, runs: Path, name: str, **overrides: Any) -> Any:
    """The composed ``olmo train`` options of a small run in ``runs/name`` (its ``data`` and ``output`` too)."""
    from olmo_core.hydra_bridge import compose_command

    command = get_host().registry("commands").get("train")
    items = {"output": str(runs / name), "data": f"[{tokens}]", "seq_len": 32, "global_batch_size": 256,
             "micro_batch_size": 8, "max_steps": 6, "callbacks.checkpoint.interval": 2, "threads": 1,
             "scheduler.warmup_steps": 2, **overrides}
    if "checkpoint" not in str(items.get("callbacks", "checkpoint")):  # an option of a callback the run leaves out
        del items["callbacks.checkpoint.interval"]                     # is refused
    return compose_command(command, [*SMALL_MODEL, *(f"{k}={v}" for k, v in items.items())])


def make_trainer(options: Any, **kwargs: Any) -> Any:
    """The trainer of the ``olmo train`` options ``options`` (see :func:`config`)."""
    from olmo_core.config import config_of
    from olmo_train.trainer import Trainer

    return Trainer(config_of(TrainConfig, options), data=options.data, run_dir=options.output, **kwargs)
