"""olmo-adapt's built-in components, registered through the same hooks as any plugin."""

from __future__ import annotations

from typing import Any

from olmo_core.plugins import hookimpl
from olmo_core.registry import Register

from olmo_adapt.chat import ChatConfig, chat_command
from olmo_adapt.jobs import AdaptJob, AdaptJobConfig, DPOJob, DPOJobConfig, SFTJob, SFTJobConfig
from olmo_adapt.dpo.config import DPO_OLMO_7B, DPO_TULU3, DPOConfig
from olmo_adapt.sft.config import SFT_OLMO_7B, SFTConfig


def sft(config: SFTConfig) -> Any:
    """Supervised fine-tuning on chat conversations, loss on assistant turns only."""
    from olmo_adapt.sft.method import SFT

    return SFT(config)


def dpo(config: DPOConfig) -> Any:
    """Direct preference optimization against cached reference log-probabilities."""
    from olmo_adapt.dpo.method import DPO

    return DPO(config)


@hookimpl(trylast=True)
def olmo_register_adapters(register: Register) -> None:
    # torch loads when a method is built, not when `olmo` starts
    register("sft", sft, config=SFTConfig, presets={"sft-olmo-7b": SFT_OLMO_7B},
             help="supervised fine-tuning on chat conversations, loss on assistant turns only")
    register("dpo", dpo, config=DPOConfig, presets={"dpo-olmo-7b": DPO_OLMO_7B, "dpo-tulu3": DPO_TULU3},
             help="direct preference optimization (dpo, dpo_norm, ipo) with cached reference log-probs")


@hookimpl(trylast=True)
def olmo_register_commands(register: Register) -> None:
    register("chat", chat_command, config=ChatConfig)


@hookimpl(trylast=True)
def olmo_register_jobs(register: Register) -> None:
    register("sft", SFTJob, config=SFTJobConfig)
    register("dpo", DPOJob, config=DPOJobConfig)
    register("adapt", AdaptJob, config=AdaptJobConfig)

