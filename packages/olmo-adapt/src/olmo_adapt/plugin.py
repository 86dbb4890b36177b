"""olmo-adapt's built-in components, registered through the same hooks as any plugin."""

from __future__ import annotations

from typing import Any

from olmo_core.plugins import hookimpl
from olmo_core.registry import Register

from olmo_adapt.chat import ChatConfig, chat_command
from olmo_adapt.command import (AdaptConfig, DPOCommandConfig, SFTCommandConfig, adapt_command, dpo_command,
                                sft_command)
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
    register("adapt", adapt_command, config=AdaptConfig)
    register("adapt sft", sft_command, config=SFTCommandConfig)
    register("adapt dpo", dpo_command, config=DPOCommandConfig)
    register("chat", chat_command, config=ChatConfig)

