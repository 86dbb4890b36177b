from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from olmo_core.errors import ConfigError
from olmo_train.data import FSLDataset
from tests.train.data.helpers import EOS, document_ids_per_token, expected_instances, raw_parts

SEQ = 32


def test_instances_are_the_token_slices(token_dirs: list[Path]) -> None:
    dataset = FSLDataset(token_dirs, seq_len=SEQ)
    expected = expected_instances(token_dirs, SEQ)
    assert len(dataset) == len(expected) == sum(len(t) // SEQ for t in raw_parts(token_dirs))
    assert len(raw_parts(token_dirs)) == 3
    for index, tokens in enumerate(expected):
        item = dataset[index]
        assert item["input_ids"].dtype == torch.int64
        assert item["input_ids"].tolist() == tokens.tolist()
    with pytest.raises(IndexError):
        dataset[len(dataset)]


def test_doc_lens_follow_eos_and_sum_to_seq_len(token_dirs: list[Path]) -> None:
    dataset = FSLDataset(token_dirs, seq_len=SEQ, max_doc_pieces=8)
    for index in range(len(dataset)):
        item = dataset[index]
        lens, ids = item["doc_lens"], item["input_ids"]
        assert lens.shape == (8,) and int(lens.sum()) == SEQ
        pieces = lens[lens > 0].tolist()
        assert (lens[len(pieces):] == 0).all()
        ends = np.cumsum(pieces)
        eos = set((np.flatnonzero(ids.numpy() == EOS) + 1).tolist())
        assert set(ends[:-1].tolist()) == eos - {SEQ}
        assert [p.end - p.start for p in dataset.provenance(index)] == pieces


def test_provenance_names_every_pieces_document(token_dirs: list[Path]) -> None:
    dataset = FSLDataset(token_dirs, seq_len=SEQ)
    owners = document_ids_per_token(token_dirs)
    names = [p.path.name for p in dataset.parts]
    index = 0
    for part, tokens in enumerate(raw_parts(token_dirs)):
        for start in range(0, len(tokens) // SEQ * SEQ, SEQ):
            pieces = dataset.provenance(index)
            labels = np.concatenate([[p.document_id] * (p.end - p.start) for p in pieces])
            assert labels.tolist() == owners[part][start:start + SEQ].tolist()
            assert all(p.part == names[part] for p in pieces)
            assert pieces[0].start == 0 and pieces[-1].end == SEQ
            assert {p.source for p in pieces} <= {"python-docs", "src-0", "src-1"}
            index += 1
    assert index == len(dataset)


def test_too_many_pieces_and_missing_data_are_clear_errors(token_dirs: list[Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="max_doc_pieces=1"):
        dataset = FSLDataset(token_dirs, seq_len=SEQ, max_doc_pieces=1)
        for index in range(len(dataset)):
            dataset[index]
    with pytest.raises(ConfigError, match="no token-array parts"):
        FSLDataset([tmp_path], seq_len=SEQ)
