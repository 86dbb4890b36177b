"""DPO pairs: a prompt and two answers, tokenized with the chat template and batched side by side.

Only the last turn (the answer) is trained: its content and EOS are the labels whose log-probabilities are
summed; the prompt, even with earlier assistant turns, is context. Chosen and rejected rows are padded to the
same length so that one forward pass of ``2 x pairs`` rows scores both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from olmo_adapt.examples import NO_ASSISTANT, Skips, check_messages
from olmo_adapt.sft.batches import padded
from olmo_core.chat_template import TuluTemplate
from olmo_adapt.tokenize import Tokens, fit

__all__ = ["DIFFERENT_PROMPTS", "SAME_ANSWERS", "Pair", "collate_pairs", "tokenize_pairs"]

DIFFERENT_PROMPTS = "chosen and rejected differ before the last turn"
SAME_ANSWERS = "chosen equals rejected"


@dataclass(kw_only=True, frozen=True)
class Pair:
    """A tokenized pair; ``index`` numbers the pairs of one run (it keys the reference log-probabilities)."""

    index: int
    chosen: Tokens
    rejected: Tokens


def _answers(template: TuluTemplate, prompt: list[dict[str, Any]], answers: list[list[dict[str, Any]]], *,
             max_length: int, overlong: str) -> list[Tokens | str]:
    """Both sides of a pair. Truncation first drops the prompt's oldest tokens (after BOS), down to half of
    ``max_length``, the same for both sides, then cuts the answers' ends."""
    encoded = [template.encode(prompt + answer) for answer in answers]
    start = encoded[0].spans[-1][0]
    longest = max(len(e.ids) for e in encoded)
    if overlong == "truncate" and longest > max_length:
        keep = max(max_length - (longest - start), max_length // 2, 1)
        drop = max(start - keep, 0)
        for e in encoded:
            e.ids, e.trained = e.ids[:1] + e.ids[1 + drop:], e.trained[:1] + e.trained[1 + drop:]
        start -= drop
    for e in encoded:
        e.trained[:start] = [False] * start
    return [fit(e, max_length=max_length, overlong=overlong) for e in encoded]


def tokenize_pairs(records: Sequence[dict[str, Any]], template: TuluTemplate, *, max_length: int, overlong: str,
                   skips: Skips, first_index: int = 0) -> list[Pair]:
    """The trainable pairs of ``records`` (``{"prompt", "chosen", "rejected"}``), numbered from ``first_index``;
    the others are counted in ``skips``."""
    pairs: list[Pair] = []
    for record in records:
        reason: str | None = None
        if record["prompt"] is None:
            reason = DIFFERENT_PROMPTS
        else:
            chosen, rejected = record["prompt"] + record["chosen"], record["prompt"] + record["rejected"]
            reason = check_messages(chosen) or check_messages(rejected)
            if reason is None and (chosen[-1]["role"], rejected[-1]["role"]) != ("assistant", "assistant"):
                reason = NO_ASSISTANT
            if reason is None and record["chosen"] == record["rejected"]:
                reason = SAME_ANSWERS
        if reason is None:
            sides = _answers(template, record["prompt"], [record["chosen"], record["rejected"]],
                             max_length=max_length, overlong=overlong)
            reason = next((s for s in sides if isinstance(s, str)), None)
        if reason is not None:
            skips.skip(reason)
            continue
        skips.keep()
        pairs.append(Pair(index=first_index + len(pairs), chosen=sides[0], rejected=sides[1]))  # type: ignore[arg-type]
    return pairs


def collate_pairs(pairs: Sequence[Pair], *, pad_id: int) -> dict[str, Any]:
    """``index`` ``(pairs,)``; ``chosen_ids``, ``chosen_labels``, ``rejected_ids``, ``rejected_labels``
    ``(pairs, longest answer side)``."""
    both = padded([p.chosen for p in pairs] + [p.rejected for p in pairs], pad_id=pad_id)
    n = len(pairs)
    return {"index": torch.tensor([p.index for p in pairs], dtype=torch.long),
            "chosen_ids": both["input_ids"][:n], "chosen_labels": both["labels"][:n],
            "rejected_ids": both["input_ids"][n:], "rejected_labels": both["labels"][n:]}
