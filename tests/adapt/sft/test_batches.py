"""Padded and packed SFT batches: packing keeps every conversation's logits and targets to itself."""

from __future__ import annotations

from pathlib import Path

import torch

from olmo_core.model_io import load_model

from olmo_adapt.datasets import load_conversations
from olmo_adapt.examples import Skips
from olmo_adapt.sft.batches import pack, padded
from olmo_adapt.sft.method import tokenize_conversations
from olmo_core.chat_template import TuluTemplate


def _examples(template: TuluTemplate) -> list:
    return tokenize_conversations(load_conversations("alpaca_en_demo")[:12], template, max_length=128,
                                  overlong="skip", skips=Skips())


def test_packing_places_whole_conversations_in_rows(template: TuluTemplate) -> None:
    examples = _examples(template)
    batch = pack(examples, max_length=128, pad_id=1)
    lengths = batch["doc_lens"]
    assert int(lengths.sum()) == sum(len(e.ids) for e in examples)
    assert bool((lengths.sum(dim=1) <= 128).all()) and batch["input_ids"].shape[0] < len(examples)
    assert sorted(int(n) for n in lengths.flatten() if n) == sorted(len(e.ids) for e in examples)
    for row in range(lengths.shape[0]):
        ends = lengths[row][lengths[row] > 0].cumsum(0)
        assert all(int(batch["labels"][row, int(end) - 1]) == -100 for end in ends)  # never predict the next example
    assert int((batch["labels"] != -100).sum()) == sum(e.trained for e in examples)


def test_packed_logits_equal_each_conversation_alone(template: TuluTemplate, tiny_checkpoint: Path) -> None:
    model = load_model(tiny_checkpoint).model.eval()
    examples = _examples(template)[:6]
    batch = pack(examples, max_length=256, pad_id=1)
    with torch.no_grad():
        packed = model(batch["input_ids"], doc_lens=batch["doc_lens"])
        alone = [model(torch.tensor([e.ids]))[0] for e in examples]
    found = 0
    for row in range(batch["input_ids"].shape[0]):
        start = 0
        for length in [int(n) for n in batch["doc_lens"][row] if n]:
            ids = batch["input_ids"][row, start:start + length].tolist()
            match = next(i for i, e in enumerate(examples) if e.ids == ids)
            torch.testing.assert_close(packed[row, start:start + length], alone[match], atol=1e-5, rtol=1e-5)
            start += length
            found += 1
    assert found == len(examples)


def test_padded_rows_label_padding_as_ignored(template: TuluTemplate) -> None:
    examples = _examples(template)[:3]
    batch = padded(examples, pad_id=1)
    for row, example in enumerate(examples):
        assert batch["input_ids"][row, : len(example.ids)].tolist() == example.ids
        assert set(batch["labels"][row, len(example.ids):].tolist()) <= {-100}
        assert set(batch["input_ids"][row, len(example.ids):].tolist()) <= {1}
