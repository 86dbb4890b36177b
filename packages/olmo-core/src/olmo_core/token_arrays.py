"""Token arrays: the corpus format that olmo-data writes and olmo-train reads, as Dolma and OLMo use it.

A part is three files:

``part-00000.npy``
    A headerless little-endian memmap of token ids (uint16 when the vocabulary fits, else uint32); every
    document is followed by the EOS token. OLMo and Dolma read exactly this.
``part-00000.csv.gz``
    Dolma's sidecar: one row ``start,end,id,source,line`` per document, ``end`` exclusive and including the
    EOS token, ``line`` the document's 1-based line in its source file; so every token traces back to its
    document.
``part-00000.meta.json``
    olmo's metadata, written last as the mark of a complete part: format, dtype, tokenizer identity, EOS
    id, token and document counts, tokens per source, and the sha256 of the ``.npy``.

:func:`open_token_array` also reads Dolma's and OLMo's own ``.npy`` files (headerless, or with a NumPy
header) without olmo metadata, given their dtype.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import itertools
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from olmo_core.errors import ConfigError, OlmoError
from olmo_core.io import atomic_path, open_atomic, write_text

__all__ = ["TOKEN_FORMAT", "TokenArray", "TokenArrayWriter", "dtype_for", "open_token_array", "part_names"]

TOKEN_FORMAT = "olmo-tokens/1"
NPY_MAGIC = b"\x93NUMPY"


def dtype_for(vocab_size: int) -> np.dtype[Any]:
    """uint16 for vocabularies below 65,536 ids, uint32 otherwise (little-endian, as OLMo reads them)."""
    return np.dtype("<u2") if vocab_size <= 2**16 else np.dtype("<u4")


def part_names(directory: str | Path) -> list[Path]:
    """The complete parts (``.npy`` with their ``.meta.json``) in ``directory``, in name order."""
    root = Path(directory)
    return sorted(p for p in root.glob("*.npy") if p.with_suffix(".meta.json").is_file())


class TokenArrayWriter:
    """Writes one part: call :meth:`add` per document, then :meth:`close` (or :meth:`abort`).

    Files are written under temporary names and renamed when the part is complete, metadata last.
    """

    def __init__(self, path: str | Path, *, tokenizer: dict[str, Any], eos_token_id: int, vocab_size: int) -> None:
        self.path = Path(path).with_suffix(".npy")
        self.dtype = dtype_for(vocab_size)
        self.tokenizer, self.eos, self.vocab_size = tokenizer, eos_token_id, vocab_size
        self._commit = atomic_path(self.path)  # entered here, left by close() (rename) or abort() (removal)
        self._tokens = open(self._commit.__enter__(), "wb")
        self._digest = hashlib.sha256()
        self._rows = io.StringIO()
        self._csv = csv.writer(self._rows, lineterminator="\n")
        self._position = 0
        self._documents = 0
        self._per_source: Counter[str] = Counter()

    def add(self, ids: Sequence[int], *, document_id: str, source: str, line: int) -> None:
        """Append a document's token ids (without EOS: it is added here)."""
        self.add_pieces([ids], document_id=document_id, source=source, line=line)

    def add_pieces(self, pieces: Iterable[Sequence[int]], *, document_id: str, source: str, line: int) -> None:
        """Append a document whose token ids come in pieces (a long text's, as they are encoded), then EOS."""
        size = 0
        for ids in itertools.chain(pieces, [[self.eos]]):
            array = np.asarray(ids, dtype=np.int64)
            if array.size and int(array.max()) >= self.vocab_size:
                raise OlmoError(f"document {document_id} has token id {int(array.max())} outside the vocabulary "
                                f"of {self.vocab_size}")
            data = array.astype(self.dtype).tobytes()
            self._tokens.write(data)
            self._digest.update(data)
            size += array.size
        self._csv.writerow([self._position, self._position + size, document_id, source, line])
        self._position += size
        self._documents += 1
        self._per_source[source] += size

    def close(self, **extra: Any) -> dict[str, Any]:
        """Finish the part and return its metadata (``extra`` is recorded in it too)."""
        self._tokens.close()
        self._commit.__exit__(None, None, None)
        with open_atomic(str(self.path.with_suffix(".csv.gz")), "wb", compression="gzip") as gz:
            gz.write(self._rows.getvalue().encode("utf-8"))
        meta = {"format": TOKEN_FORMAT, "dtype": self.dtype.str, "tokenizer": self.tokenizer,
                "eos_token_id": self.eos, "vocab_size": self.vocab_size, "tokens": self._position,
                "documents": self._documents, "tokens_per_source": dict(sorted(self._per_source.items())),
                "sha256": self._digest.hexdigest(), **extra}
        write_text(str(self.path.with_suffix(".meta.json")), json.dumps(meta, indent=2) + "\n")
        return meta

    def abort(self) -> None:
        """Give up the part: nothing of it is left behind."""
        self._tokens.close()
        self._commit.__exit__(OlmoError, OlmoError("aborted"), None)


@dataclass
class TokenArray:
    """A memory-mapped part: its tokens and, when known, where each document starts and ends."""

    path: Path
    tokens: np.ndarray[Any, Any]
    starts: np.ndarray[Any, Any]
    ends: np.ndarray[Any, Any]
    ids: list[str]
    sources: list[str]
    meta: dict[str, Any]

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    def document_at(self, position: int) -> int:
        """Index of the document that holds token ``position``."""
        if not 0 <= position < len(self):
            raise IndexError(f"token {position} is outside {self.path} ({len(self)} tokens)")
        return int(np.searchsorted(self.ends, position, side="right"))


def open_token_array(path: str | Path, *, dtype: str | None = None, eos_token_id: int | None = None) -> TokenArray:
    """Memory-map a part written by :class:`TokenArrayWriter`, or a Dolma/OLMo ``.npy`` file.

    Without olmo metadata, ``dtype`` (default uint16) gives the width, document boundaries come from a
    Dolma ``.csv.gz`` sidecar when there is one, else from ``eos_token_id`` when given.
    """
    npy = Path(path)
    meta_file = npy.with_suffix(".meta.json")
    meta: dict[str, Any] = json.loads(meta_file.read_text()) if meta_file.is_file() else {}
    if meta and meta.get("format") != TOKEN_FORMAT:
        raise ConfigError(f"{meta_file} has format {meta.get('format')!r}, expected {TOKEN_FORMAT!r}")
    if not npy.is_file():
        raise ConfigError(f"no token file at {npy}")
    with open(npy, "rb") as f:
        header = f.read(len(NPY_MAGIC))
    if header == NPY_MAGIC:
        tokens = np.load(npy, mmap_mode="r")
    else:
        width = np.dtype(meta.get("dtype") or dtype or "<u2")
        if npy.stat().st_size % width.itemsize:
            raise ConfigError(f"{npy} is {npy.stat().st_size} bytes, not a whole number of {width} tokens: "
                              f"wrong dtype?")
        tokens = np.memmap(npy, dtype=width, mode="r") if npy.stat().st_size else np.zeros(0, dtype=width)
    starts, ends, ids, sources = _documents(npy, tokens, meta.get("eos_token_id", eos_token_id))
    return TokenArray(npy, tokens, starts, ends, ids, sources, meta)


def _documents(npy: Path, tokens: np.ndarray[Any, Any], eos: int | None) -> tuple[Any, Any, list[str], list[str]]:
    sidecar = npy.with_suffix(".csv.gz")
    if sidecar.is_file():
        with gzip.open(sidecar, "rt", encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))
        starts = np.array([int(r[0]) for r in rows], dtype=np.int64)
        ends = np.array([int(r[1]) for r in rows], dtype=np.int64)
        return starts, ends, [r[2] for r in rows], [r[3] if len(r) > 3 else "" for r in rows]
    if eos is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), [], []
    ends = np.flatnonzero(np.asarray(tokens) == eos).astype(np.int64) + 1
    if not ends.size or ends[-1] != tokens.shape[0]:
        ends = np.append(ends, tokens.shape[0])
    starts = np.concatenate([[0], ends[:-1]]).astype(np.int64)
    names = [f"{npy.stem}-{i}" for i in range(len(ends))]
    return starts, ends, names, [""] * len(ends)
