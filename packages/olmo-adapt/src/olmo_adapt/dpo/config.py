"""The options of ``dpo`` and the paper's settings, importable without torch."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from olmo_core.config import non_negative, positive
from olmo_core.errors import ConfigError

from olmo_adapt.datasets import BUILTIN_PAIRS
from olmo_adapt.method import MethodSettings, check_choice

__all__ = ["DPOConfig", "DPO_OLMO_7B", "DPO_TULU3", "LOSSES", "reference_checkpoint"]

LOSSES = ("dpo", "dpo_norm", "ipo")
"""The preference losses (:func:`olmo_adapt.dpo.loss.preference_losses`)."""


@dataclass(kw_only=True)
class DPOConfig(MethodSettings):
    """Options of ``dpo``. The defaults run in a minute or two on 2 CPU cores on the built-in pairs; the
    ``dpo-olmo-7b`` preset has the paper's settings."""

    data: str = BUILTIN_PAIRS
    """``dpo_en_demo`` (built in) or a JSON lines file of pairs."""
    eval_examples: int = non_negative(40)
    max_length: int = positive(384)
    overlong: str = "truncate"
    lr: float = non_negative(5e-4)
    epochs: float = positive(2.0)
    warmup_ratio: float = non_negative(0.1)
    batch_size: int = positive(8)
    micro_batch_size: int = positive(4)
    """Pairs per forward/backward pass (twice as many rows)."""
    loss: str = "dpo"
    """``dpo``, ``dpo_norm`` (length-normalized) or ``ipo``."""
    beta: float = positive(0.1)
    """Strength of the pull toward the reference (β)."""
    reference: str | None = None
    """The reference checkpoint: a step directory, or a run directory (its newest checkpoint) (default: the
    checkpoint training starts from)."""
    reference_cache: str | None = None
    """Where reference log-probabilities are cached (default: ``<olmo cache>/dpo-reference``)."""

    resumable: ClassVar[tuple[str, ...]] = (*MethodSettings.resumable, "reference_cache")

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("loss", self.loss, LOSSES)

    def trained_with(self) -> dict[str, Any]:
        """The shared record, with the reference's step directory (a run directory's newest checkpoint changes
        with its training)."""
        record = super().trained_with()
        if self.reference:
            record["reference"] = str(reference_checkpoint(self.reference))
        return record


def reference_checkpoint(spec: str) -> Path:
    """The step directory ``method.reference`` names: a checkpoint, or a run directory's newest checkpoint (as
    ``checkpoint=`` takes them)."""
    from olmo_core.artifacts import Checkpoint, checkpoint_step_dir

    if problem := Checkpoint(path=spec).problem():
        raise ConfigError(f"method.reference={spec}: {problem}")
    return Path(checkpoint_step_dir(spec))


DPO_OLMO_7B = DPOConfig(data=BUILTIN_PAIRS, eval_examples=0, max_length=2048, overlong="truncate", lr=5e-7,
                        epochs=3.0, warmup_ratio=0.1, weight_decay=0.0, grad_clip=None, batch_size=32,
                        micro_batch_size=1, loss="dpo", beta=0.1)
"""OLMo-7B-Instruct's DPO (Groeneveld et al. 2024; "same as Tulu 2"): β 0.1, lr 5e-7, 3 epochs, 10% linear
warmup then linear decay to 0, no weight decay, no clipping, 2048 tokens, 32 pairs per step."""

DPO_TULU3 = DPOConfig(data=BUILTIN_PAIRS, eval_examples=0, max_length=2048, overlong="truncate", lr=5e-7,
                      epochs=1.0, warmup_ratio=0.1, weight_decay=0.0, grad_clip=None, batch_size=128,
                      micro_batch_size=1, loss="dpo_norm", beta=5.0)
"""Length-normalized DPO as in Tulu 3 and OLMo 2 (open-instruct ``olmo2_1124_7b_dpo.yaml``): β 5, lr 5e-7,
1 epoch, 10% warmup, 2048 tokens, 128 pairs per step."""
