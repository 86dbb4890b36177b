"""``dpo``: direct preference optimization from a chat checkpoint, against cached reference log-probabilities.

The reference is the starting checkpoint unless ``reference`` names another (with the same tokenizer). Its
log-probabilities of every pair, training and held-out, are computed once before the first step and cached on
disk (:mod:`olmo_adapt.dpo.reference`); a resumed or repeated run reads them back. Held-out pairs are scored
during training with the same loss and rewards (``eval/rewards/accuracies`` ...).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import torch

from olmo_core.assets import cache_dir

from olmo_adapt.checkpoints import check_same_tokenizer
from olmo_adapt.datasets import held_out_split, load_pairs
from olmo_adapt.dpo.data import Pair, collate_pairs, tokenize_pairs
from olmo_adapt.dpo.objective import DPOObjective, pair_sums, sums_to_metrics
from olmo_adapt.dpo.reference import cached_reference_logps
from olmo_adapt.evaluation import HeldOutEvaluation
from olmo_adapt.examples import Skips
from olmo_adapt.loader import ExampleLoader
from olmo_adapt.dpo.config import DPO_OLMO_7B, DPO_TULU3, DPOConfig, reference_checkpoint
from olmo_adapt.method import AdaptRun, Prepared, check_one_batch, warn_small_held_out

__all__ = ["DPO", "DPOConfig", "DPO_OLMO_7B", "DPO_TULU3", "reference_checkpoint"]

log = logging.getLogger(__name__)


class DPO:
    """The ``dpo`` adaptation method."""

    def __init__(self, config: DPOConfig) -> None:
        self.config = config

    def prepare(self, run: AdaptRun) -> Prepared:
        """Tokenize the pairs, hold some out, and arrange for the reference pass before the first step."""
        c = self.config
        train_records, held_records = held_out_split(load_pairs(c.data), c.eval_examples)
        train_records = train_records[:c.max_examples]
        skips = Skips()
        options: dict[str, Any] = {"max_length": c.max_length, "overlong": c.overlong, "skips": skips}
        train = tokenize_pairs(train_records, run.template, **options)
        before = skips.reasons.copy()
        held = tokenize_pairs(held_records, run.template, first_index=len(train), **options)
        warn_small_held_out(len(held), c, skips.reasons - before, noun="pairs")
        reference = reference_checkpoint(c.reference) if c.reference else run.checkpoint
        if c.reference:
            check_same_tokenizer(reference, run.template.tokenizer)
        tokenizer = run.template.tokenizer
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        objective = DPOObjective(loss=c.loss, beta=c.beta)
        check_one_batch(len(train), c, skips, noun="pairs")
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
                log.info(f"reference log-probs of {len(table)} pairs {'read from' if hit else 'written to'} {path}")

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
