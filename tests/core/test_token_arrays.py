from __future__ import annotations

import numpy as np
import pytest

from pathlib import Path

from olmo_core.errors import ConfigError, OlmoError
from olmo_core.token_arrays import TokenArrayWriter, dtype_for, open_token_array, part_names


def write_part(path: Path, docs: list[list[int]], vocab: int = 1000, eos: int = 999) -> dict[str, object]:
    writer = TokenArrayWriter(path, tokenizer={"name": "t", "sha256": "x"}, eos_token_id=eos, vocab_size=vocab)
    for i, ids in enumerate(docs):
        writer.add(ids, document_id=f"d{i}", source="s" if i % 2 else "t", line=i + 1)
    return writer.close(input="in.jsonl")


def test_write_and_read_back(tmp_path: Path) -> None:
    meta = write_part(tmp_path / "part-00000", [[5, 6, 7], [], [8]])
    assert meta["tokens"] == 3 + 1 + 1 + 1 + 1 and meta["documents"] == 3
    assert meta["tokens_per_source"] == {"s": 1, "t": 6}
    assert (tmp_path / "part-00000.npy").read_bytes() == np.array([5, 6, 7, 999, 999, 8, 999], "<u2").tobytes()
    part = open_token_array(tmp_path / "part-00000.npy")
    assert part.tokens.dtype == np.dtype("<u2") and list(part.tokens) == [5, 6, 7, 999, 999, 8, 999]
    assert (list(part.starts), list(part.ends), part.ids) == ([0, 4, 5], [4, 5, 7], ["d0", "d1", "d2"])
    assert [part.document_at(i) for i in range(7)] == [0, 0, 0, 0, 1, 2, 2]
    assert part_names(tmp_path) == [tmp_path / "part-00000.npy"]
    with pytest.raises(IndexError):
        part.document_at(7)


def test_dtype_follows_the_vocabulary() -> None:
    assert dtype_for(50280) == np.dtype("<u2") and dtype_for(65536) == np.dtype("<u2")
    assert dtype_for(100278) == np.dtype("<u4")


def test_ids_outside_the_vocabulary_are_refused(tmp_path: Path) -> None:
    writer = TokenArrayWriter(tmp_path / "p", tokenizer={}, eos_token_id=9, vocab_size=10)
    with pytest.raises(OlmoError, match="token id 12 outside the vocabulary of 10"):
        writer.add([1, 12], document_id="bad", source="s", line=1)
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_reads_dolma_and_olmo_files_without_metadata(tmp_path: Path) -> None:
    raw = np.array([1, 2, 0, 3, 0, 4], dtype="<u2")
    raw.tofile(tmp_path / "olmo.npy")
    part = open_token_array(tmp_path / "olmo.npy", eos_token_id=0)
    assert (list(part.starts), list(part.ends)) == ([0, 3, 5], [3, 5, 6])
    np.save(tmp_path / "headed.npy", raw.astype("<u4"))
    headed = open_token_array(tmp_path / "headed.npy")
    assert headed.tokens.dtype == np.dtype("<u4") and list(headed.tokens) == list(raw)
    np.array([1, 2, 3], dtype="<u1").tofile(tmp_path / "odd.npy")
    with pytest.raises(ConfigError, match="not a whole number of uint16 tokens"):
        open_token_array(tmp_path / "odd.npy")


def test_an_empty_part_reads_as_empty(tmp_path: Path) -> None:
    write_part(tmp_path / "part-00000", [])
    part = open_token_array(tmp_path / "part-00000.npy")
    assert len(part) == 0 and part.ids == [] and part.tokens.dtype == np.dtype("<u2")
