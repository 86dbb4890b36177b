"""Expectations worked out by hand from the raw token files, independently of the dataset code."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

from olmo_core.tokenizer import load_tokenizer
from olmo_train.data import DataLoader
from tests.conftest import DOCSTRING_MODULES
from tests.train.data.conftest import B_PARTS

EOS = 50279


def raw_parts(dirs: list[Path]) -> list[np.ndarray]:
    """Each part's tokens read as plain little-endian uint16, in the loader's order."""
    return [np.fromfile(p, dtype="<u2") for d in dirs for p in sorted(d.glob("part-*.npy"))]


def document_ids_per_token(dirs: list[Path]) -> list[np.ndarray]:
    """For each part, the id of the document every token belongs to, from the documents' own token counts."""
    tokenizer = load_tokenizer("olmo-v1.5")

    def count(module: str) -> int:
        return len(tokenizer.encode((importlib.import_module(module).__doc__ or "").strip())) + 1

    parts = [[(f"stdlib-{m}", count(m)) for m in DOCSTRING_MODULES]]
    parts += [[(f"b-{m}", count(m)) for m in modules] for modules in B_PARTS]
    assert len(parts) == len(raw_parts(dirs))
    return [np.repeat([i for i, _ in docs], [n for _, n in docs]) for docs in parts]


def expected_instances(dirs: list[Path], seq_len: int) -> list[np.ndarray]:
    """Every part cut into len // seq_len consecutive slices, its tail dropped."""
    return [tokens[i * seq_len:(i + 1) * seq_len] for tokens in raw_parts(dirs) for i in range(len(tokens) // seq_len)]


def take(loader: DataLoader, steps: int) -> list[list[int]]:
    """The instance indices of the loader's next ``steps`` batches, across epochs."""
    out: list[list[int]] = []
    while len(out) < steps:
        for batch in loader:
            out.append(batch["index"].tolist())
            if len(out) == steps:
                break
    return out
