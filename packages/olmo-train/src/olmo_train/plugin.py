"""olmo-train's built-in components, registered through the same hooks as any plugin."""

from __future__ import annotations

from olmo_core.plugins import hookimpl
from olmo_core.registry import Register

from olmo_train.command import train_command
from olmo_train.config import TrainConfig
from olmo_train.stages import PretrainStage, PretrainStageConfig
from olmo_train.data.inspect_batch import InspectBatchConfig, inspect_batch_command


@hookimpl(trylast=True)
def olmo_register_commands(register: Register) -> None:
    register("data inspect-batch", inspect_batch_command, config=InspectBatchConfig)
    register("train", train_command, config=TrainConfig)


@hookimpl(trylast=True)
def olmo_register_stages(register: Register) -> None:
    register("pretrain", PretrainStage, config=PretrainStageConfig)
