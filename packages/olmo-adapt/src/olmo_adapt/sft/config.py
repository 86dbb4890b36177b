"""The options of ``sft`` and the paper's settings, importable without torch."""

from __future__ import annotations

from dataclasses import dataclass

from olmo_core.config import non_negative, positive

from olmo_adapt.datasets import BUILTIN_SFT
from olmo_adapt.method import MethodSettings

__all__ = ["SFTConfig", "SFT_OLMO_7B"]


@dataclass(kw_only=True)
class SFTConfig(MethodSettings):
    """Options of ``sft``. The defaults train a small model on the built-in set in a minute or two on 2 CPU
    cores; the ``sft-olmo-7b`` preset has the paper's settings."""

    data: str = BUILTIN_SFT
    """``alpaca_en_demo`` (built in) or a ``messages`` JSON lines file."""
    eval_examples: int = non_negative(49)
    max_length: int = positive(256)
    lr: float = non_negative(1e-3)
    epochs: float = positive(1.0)
    warmup_ratio: float = non_negative(0.03)
    batch_size: int = positive(16)
    micro_batch_size: int = positive(8)
    packing: bool = False
    """Pack several conversations into each row of ``max_length`` tokens, attending only within each."""


SFT_OLMO_7B = SFTConfig(data=BUILTIN_SFT, eval_examples=0, max_length=2048, overlong="skip", lr=2e-6, epochs=3.0,
                        warmup_ratio=0.03, weight_decay=0.0, grad_clip=None, batch_size=128, micro_batch_size=1)
"""OLMo-7B-SFT (Groeneveld et al. 2024; open-instruct ``olmo_7b_sft.yaml``): lr 2e-6, 3 epochs, 3% linear warmup
then linear decay to 0, no weight decay, no clipping, 2048 tokens (longer conversations left out, as in
``tulu-v2-sft-mixture-olmo-2048``), 128 conversations per step."""
