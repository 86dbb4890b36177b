from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import pytest

from olmo_core import token_arrays
from olmo_core.errors import ConfigError, OlmoError
from olmo_core.token_arrays import RemoteTokens, TokenArrayWriter, dtype_for, open_token_array, part_names


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


@pytest.fixture
def remote(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list[tuple[int, int]]]]:
    """A fresh ``memory://`` folder, and the byte ranges of every ranged read of a token file there."""
    fs = fsspec.filesystem("memory")
    root = f"memory://tokens-{uuid.uuid4().hex}"
    reads: list[tuple[int, int]] = []
    plain = type(fs).cat_file

    def recorded(self: Any, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        if path.endswith(".npy"):
            reads.append((start, end))
        return plain(self, path, start=start, end=end, **kwargs)

    monkeypatch.setattr(type(fs), "cat_file", recorded)
    yield root, reads
    fs.rm(root.removeprefix("memory://"), recursive=True)


def test_a_remote_part_is_read_in_blocks_as_its_tokens_are_asked_for(
        tmp_path: Path, remote: tuple[str, list[tuple[int, int]]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(token_arrays, "REMOTE_BLOCK_BYTES", 64)  # 32 uint16 tokens a block
    monkeypatch.setattr(token_arrays, "REMOTE_BLOCKS_KEPT", 2)
    docs = [list(range(i, i + 20)) for i in range(0, 400, 20)]  # 20 documents of 20 tokens, each then EOS
    write_part(tmp_path / "part-00000", docs)
    root, reads = remote
    fs = fsspec.filesystem("memory")
    for name in ("part-00000.npy", "part-00000.csv.gz", "part-00000.meta.json"):
        fs.pipe(f"{root}/{name}".removeprefix("memory://"), (tmp_path / name).read_bytes())
    local = open_token_array(tmp_path / "part-00000.npy")
    part = open_token_array(f"{root}/part-00000.npy")
    assert isinstance(part.tokens, RemoteTokens) and len(part) == len(local) == 420
    assert part.tokens.dtype == np.dtype("<u2") and part.ids == local.ids
    assert reads == [(0, 840)]  # opening reads the head of the file only (here: all 840 bytes of it)
    reads.clear()
    assert part.tokens[40:50].tolist() == local.tokens[40:50].tolist()  # bytes 80-100: block 1 is read
    assert part.tokens[28:36].tolist() == local.tokens[28:36].tolist()  # bytes 56-72: block 0 read, 1 kept
    assert part.tokens[64:70].tolist() == local.tokens[64:70].tolist()  # block 2 read; 0 let go (2 kept)
    assert part.tokens[40:41].tolist() == local.tokens[40:41].tolist()  # block 1, kept
    assert part.tokens[0:3].tolist() == local.tokens[0:3].tolist()  # block 0 read again; 2 let go
    assert part.tokens[416:].tolist() == local.tokens[416:].tolist()  # the last block: bytes 832-840
    assert reads == [(64, 128), (0, 64), (128, 192), (0, 64), (832, 840)]
    reads.clear()
    assert np.asarray(part.tokens).tolist() == part.tokens.tolist() == local.tokens.tolist()
    assert reads == [(0, 840), (0, 840)] and part.tokens[5:5].size == 0  # 14 blocks: read in one request
    with pytest.raises(TypeError, match="contiguous slices"):
        part.tokens[::2]


def test_a_remote_numpy_file_is_read_past_its_header(tmp_path: Path,
                                                    remote: tuple[str, list[tuple[int, int]]]) -> None:
    root, reads = remote
    raw = np.arange(3000, dtype="<u4")
    np.save(tmp_path / "headed.npy", raw)
    fsspec.filesystem("memory").pipe(f"{root}/headed.npy".removeprefix("memory://"),
                                     (tmp_path / "headed.npy").read_bytes())
    part = open_token_array(f"{root}/headed.npy")
    assert part.tokens.dtype == np.dtype("<u4") and len(part) == 3000
    assert part.tokens[2990:].tolist() == list(range(2990, 3000))
    assert reads[0] == (0, 4096) and len(reads) == 2  # the head, then the one block holding the last tokens


class _FullDisk:
    """A file on a full disk: every write and flush fails."""

    def write(self, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    def close(self) -> None:
        raise OSError(28, "No space left on device")


def test_a_full_disk_names_the_part_and_leaves_nothing_of_it(tmp_path: Path) -> None:
    from olmo_core.io import StorageError
    from olmo_core.token_arrays import TokenArrayWriter

    writer = TokenArrayWriter(tmp_path / "part-00000", tokenizer={}, eos_token_id=9, vocab_size=10)
    real, writer._tokens = writer._tokens, _FullDisk()  # type: ignore[assignment]
    real.close()
    with pytest.raises(StorageError, match=r"part-00000\.npy: No space left on device$"):
        writer.add([1, 2, 3], document_id="d", source="s", line=1)
    writer.abort()  # its buffer cannot be flushed either: no second error
    assert list(tmp_path.iterdir()) == []
