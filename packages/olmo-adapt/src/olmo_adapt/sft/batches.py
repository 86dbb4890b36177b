"""SFT batches: right-padded rows, or examples packed into rows with per-document attention.

Padded rows (``packing=False``) hold one example each, padded to the longest of the micro-batch's batch with
the padding token and labelled ``-100``; a causal model never looks at what follows a token, so padding changes
nothing. Packed rows (``packing=True``) hold several examples each, placed first-fit in decreasing length into
rows of ``max_length``; ``doc_lens`` tells the model where each example ends, so no token attends across
examples, and an example's first token is never a target of the one before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from olmo_train.loss import IGNORE

from olmo_adapt.tokenize import Tokens

__all__ = ["pack", "padded"]


def padded(examples: Sequence[Tokens], *, pad_id: int) -> dict[str, Any]:
    """``input_ids`` and ``labels`` ``(examples, longest)``."""
    width = max(len(e.ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE, dtype=torch.long)
    for row, example in enumerate(examples):
        ids[row, : len(example.ids)] = torch.tensor(example.ids)
        labels[row, : len(example.labels)] = torch.tensor(example.labels)
    return {"input_ids": ids, "labels": labels}


def pack(examples: Sequence[Tokens], *, max_length: int, pad_id: int) -> dict[str, Any]:
    """``input_ids``, ``labels`` ``(rows, longest row)`` and ``doc_lens`` ``(rows, most examples in a row)``."""
    rows: list[list[Tokens]] = []
    room: list[int] = []
    for example in sorted(examples, key=lambda e: len(e.ids), reverse=True):
        fits = next((r for r, free in enumerate(room) if free >= len(example.ids)), None)
        if fits is None:
            rows.append([])
            room.append(max_length)
            fits = len(rows) - 1
        rows[fits].append(example)
        room[fits] -= len(example.ids)
    joined = [Tokens(ids=[t for e in row for t in e.ids], labels=[t for e in row for t in e.labels]) for row in rows]
    batch = padded(joined, pad_id=pad_id)
    doc_lens = torch.zeros((len(rows), max(len(row) for row in rows)), dtype=torch.long)
    for r, row in enumerate(rows):
        doc_lens[r, : len(row)] = torch.tensor([len(e.ids) for e in row])
    batch["doc_lens"] = doc_lens
    return batch
