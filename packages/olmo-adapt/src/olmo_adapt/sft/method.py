"""``sft``: supervised fine-tuning with the loss on assistant turns only, normalized per optimizer step.

Every assistant turn of a conversation is trained (its content and the EOS that ends it); everything else is
context. The loss is olmo-train's language-modelling loss: the summed cross-entropy of the trained tokens
divided by the trained tokens of the whole optimizer step over all ranks (DESIGN §6), so it does not depend on
micro-batching or world size.
"""

from __future__ import annotations

import functools

import torch

from olmo_train.loss import IGNORE
from olmo_train.objective import LanguageModelObjective

from olmo_adapt.datasets import held_out_split, load_conversations
from olmo_adapt.evaluation import HeldOutEvaluation
from olmo_adapt.examples import Skips, check_messages
from olmo_adapt.loader import ExampleLoader
from olmo_adapt.method import AdaptRun, Prepared, check_one_batch, warn_small_held_out
from olmo_adapt.sft.config import SFTConfig
from olmo_adapt.sft.batches import pack, padded
from olmo_core.chat_template import TuluTemplate
from olmo_adapt.tokenize import Tokens, fit

__all__ = ["SFT", "SFTConfig", "tokenize_conversations"]


def tokenize_conversations(records: list[dict], template: TuluTemplate, *, max_length: int, overlong: str,
                           skips: Skips) -> list[Tokens]:
    """The trainable sequences of ``records`` (``{"messages": ...}``); the others are counted in ``skips``."""
    out = []
    for record in records:
        reason = check_messages(record["messages"])
        tokens = reason or fit(template.encode(record["messages"]), max_length=max_length, overlong=overlong)
        if isinstance(tokens, str):
            skips.skip(tokens)
            continue
        skips.keep()
        out.append(tokens)
    return out


def _held_out_loss(examples: list[Tokens], *, pad_id: int, rows: int, model: torch.nn.Module,
                   device: torch.device) -> dict[str, float]:
    total, count = 0.0, 0
    for start in range(0, len(examples), rows):
        batch = padded(examples[start:start + rows], pad_id=pad_id)
        labels = batch["labels"].to(device)
        total += float(model(batch["input_ids"].to(device), labels=labels).ce)
        count += int((labels != IGNORE).sum())
    return {"loss": total / count}


class SFT:
    """The ``sft`` adaptation method."""

    def __init__(self, config: SFTConfig) -> None:
        self.config = config

    def prepare(self, run: AdaptRun) -> Prepared:
        """Tokenize the conversations, hold some out, and batch the rest (padded or packed)."""
        c = self.config
        records = load_conversations(c.data)
        skips = Skips()
        train_records, held_records = held_out_split(records, c.eval_examples)
        train_records = train_records[:c.max_examples]
        train = tokenize_conversations(train_records, run.template, max_length=c.max_length, overlong=c.overlong,
                                       skips=skips)
        before = skips.reasons.copy()
        held = tokenize_conversations(held_records, run.template, max_length=c.max_length, overlong=c.overlong,
                                      skips=skips)
        warn_small_held_out(len(held), c, skips.reasons - before, noun="conversations")
        tokenizer = run.template.tokenizer
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        collate = functools.partial(pack, max_length=c.max_length, pad_id=pad_id) if c.packing \
            else functools.partial(padded, pad_id=pad_id)
        check_one_batch(len(train), c, skips, noun="conversations")
        loader = ExampleLoader(train, batch_size=c.batch_size, seed=run.seed, collate=collate)
        callbacks = []
        if held:
            evaluate = functools.partial(_held_out_loss, held, pad_id=pad_id, rows=c.micro_batch_size)
            callbacks.append(HeldOutEvaluation(lambda model, device: evaluate(model=model, device=device),
                                               interval=c.eval_interval))
        summary = {"train_examples": len(train), "held_out_examples": len(held),
                   "trained_tokens": sum(t.trained for t in train), "tokens": sum(len(t.ids) for t in train)}
        return Prepared(objective=LanguageModelObjective(doc_masking=c.packing), loader=loader, skips=skips,
                        callbacks=callbacks, summary=summary)
