"""``dpo``: direct preference optimization from a chat checkpoint, against cached reference log-probabilities.

The reference is the starting checkpoint unless ``reference`` names another (with the same tokenizer). Its
log-probabilities of every pair, training and held-out, are computed once before the first step and cached on
disk (:mod:`olmo_adapt.dpo.reference`); a resumed or repeated run reads them back. Held-out pairs are scored
during training with the same loss and rewards (``eval/rewards/accuracies`` ...).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from olmo_core.assets import cache_dir
from olmo_core.errors import ConfigError

from olmo_adapt.checkpoints import check_same_tokenizer
from olmo_adapt.datasets import BUILTIN_PAIRS, held_out_split, load_pairs
from olmo_adapt.dpo.data import Pair, collate_pairs, tokenize_pairs
from olmo_adapt.dpo.loss import LOSSES
from olmo_adapt.dpo.objective import DPOObjective, pair_sums, sums_to_metrics
from olmo_adapt.dpo.reference import cached_reference_logps
from olmo_adapt.evaluation import HeldOutEvaluation
from olmo_adapt.examples import Skips
from olmo_adapt.loader import ExampleLoader
from olmo_adapt.method import AdaptRun, MethodSettings, Prepared

__all__ = ["DPO", "DPOConfig", "DPO_OLMO_7B", "DPO_TULU3"]


@dataclass(kw_only=True)
class DPOConfig(MethodSettings):
    """Options of ``dpo``. The defaults run in a minute or two on 2 CPU cores on the built-in pairs; the
    ``dpo-olmo-7b`` preset has the paper's settings."""

    data: str = BUILTIN_PAIRS
    """``dpo_en_demo`` (built in) or a JSON lines file of pairs."""
    eval_examples: int = 40
    max_length: int = 384
    overlong: str = "truncate"
    lr: float = 5e-4
    epochs: float = 2.0
    warmup_ratio: float = 0.1
    batch_size: int = 8
    micro_batch_size: int = 4
    """Pairs per forward/backward pass (twice as many rows)."""
    loss: str = "dpo"
    """``dpo``, ``dpo_norm`` (length-normalized) or ``ipo``."""
    beta: float = 0.1
    """Strength of the pull toward the reference (β)."""
    reference: str | None = None
    """The reference checkpoint (default: the checkpoint training starts from)."""
    reference_cache: str | None = None
    """Where reference log-probabilities are cached (default: ``<olmo cache>/dpo-reference``)."""


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


class DPO:
    """The ``dpo`` adaptation method."""

    def __init__(self, config: DPOConfig) -> None:
        if config.loss not in LOSSES:
            raise ConfigError(f"method.loss must be one of {', '.join(LOSSES)}, not {config.loss!r}")
        if config.beta <= 0:
            raise ConfigError(f"method.beta must be positive, not {config.beta}")
        if config.overlong not in ("skip", "truncate"):
            raise ConfigError(f"method.overlong must be skip or truncate, not {config.overlong!r}")
        self.config = config

    def prepare(self, run: AdaptRun) -> Prepared:
        """Tokenize the pairs, hold some out, and arrange for the reference pass before the first step."""
        c = self.config
        train_records, held_records = held_out_split(load_pairs(c.data), c.eval_examples)
        train_records = train_records[:c.max_examples]
        skips = Skips()
        options: dict[str, Any] = {"max_length": c.max_length, "overlong": c.overlong, "skips": skips}
        train = tokenize_pairs(train_records, run.template, **options)
        held = tokenize_pairs(held_records, run.template, first_index=len(train), **options)
        reference = Path(c.reference) if c.reference else run.checkpoint
        if c.reference:
            check_same_tokenizer(reference, run.template.tokenizer)
        tokenizer = run.template.tokenizer
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        objective = DPOObjective(loss=c.loss, beta=c.beta)
        loader = ExampleLoader(train, batch_size=c.batch_size, seed=run.seed,
                               collate=functools.partial(collate_pairs, pad_id=pad_id))
        summary: dict[str, Any] = {"train_pairs": len(train), "held_out_pairs": len(held), "loss": c.loss,
                                   "beta": c.beta, "reference": str(reference)}
        store = Path(c.reference_cache) if c.reference_cache else cache_dir() / "dpo-reference"

        def start(trainer: Any) -> None:
            table, path, hit = cached_reference_logps(reference, [*train, *held], cache_dir=store,
                                                      rows=c.micro_batch_size, pad_id=pad_id, device=trainer.device,
                                                      write=trainer.is_main)
            objective.reference = table
            summary.update(reference_cache=str(path), reference_cache_hit=hit)
            if trainer.is_main:
                print(f"reference log-probs of {len(table)} pairs {'read from' if hit else 'written to'} {path}",
                      flush=True)

        callbacks = []
        if held:
            callbacks.append(HeldOutEvaluation(
                functools.partial(_held_out, held, objective, rows=c.micro_batch_size, pad_id=pad_id),
                interval=c.eval_interval))
        return Prepared(objective=objective, loader=loader, skips=skips, callbacks=callbacks, start=start,
                        summary=summary)


def _held_out(pairs: list[Pair], objective: DPOObjective, model: torch.nn.Module, device: torch.device, *,
              rows: int, pad_id: int) -> dict[str, float]:
    assert objective.reference is not None
    totals: dict[str, float] = {}
    for start in range(0, len(pairs), rows):
        batch = {k: v.to(device) for k, v in collate_pairs(pairs[start:start + rows], pad_id=pad_id).items()}
        _, sums = pair_sums(model, batch, objective.reference, loss=objective.loss_type, beta=objective.beta)
        for key, value in sums.items():
            totals[key] = totals.get(key, 0.0) + float(value)
    return sums_to_metrics(totals, len(pairs))
