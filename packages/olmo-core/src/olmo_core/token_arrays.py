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

Parts live on the local disk or at any fsspec URL (``s3://``, ``memory://`` ...): a local part is memory-mapped,
a remote one read in ranges as its tokens are asked for (:class:`RemoteTokens`, a block of
:data:`REMOTE_BLOCK_BYTES` at a time, the last few kept), so that opening a corpus in object storage reads only
its metadata and sidecars.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import posixpath
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

import numpy as np
from fsspec.core import url_to_fs

from olmo_core.errors import ConfigError, OlmoError
from olmo_core.io import (exists, is_local, open_atomic, open_file, read_text, staged_path, storage_errors,
                          write_text)

__all__ = ["TOKEN_FORMAT", "RemoteTokens", "TokenArray", "TokenArrayWriter", "dtype_for", "open_token_array",
           "part_meta", "part_names", "part_urls", "sibling"]

TOKEN_FORMAT = "olmo-tokens/1"
NPY_MAGIC = b"\x93NUMPY"


def dtype_for(vocab_size: int) -> np.dtype[Any]:
    """uint16 for vocabularies below 65,536 ids, uint32 otherwise (little-endian, as OLMo reads them)."""
    return np.dtype("<u2") if vocab_size <= 2**16 else np.dtype("<u4")


def sibling(url: str, suffix: str) -> str:
    """``url`` with the suffix of its file name replaced by ``suffix`` (``part-00000.npy`` ->
    ``part-00000.meta.json``), as :meth:`pathlib.PurePath.with_suffix` does, the URL's protocol kept."""
    return posixpath.splitext(url)[0] + suffix


def part_urls(directory: str | Path) -> list[str]:
    """The complete parts (``.npy`` with their ``.meta.json``) in ``directory`` (a local path or any fsspec URL),
    in name order, each as ``directory`` spelled it plus the part's file name."""
    fs, root = url_to_fs(str(directory))
    found = {posixpath.basename(p) for p in fs.glob(posixpath.join(root, "*"))
             if p.endswith((".npy", ".meta.json")) and (not is_local(fs) or fs.isfile(p))}
    base = str(directory).rstrip("/")
    parts = sorted(name for name in found if name.endswith(".npy") and sibling(name, ".meta.json") in found)
    return [f"{base}/{name}" for name in parts]


def part_names(directory: str | Path) -> list[Path]:
    """The complete parts (``.npy`` with their ``.meta.json``) in the local directory ``directory``, in name order
    (:func:`part_urls` lists them at any URL)."""
    fs, root = url_to_fs(str(directory))
    if not is_local(fs):
        raise ConfigError(f"{directory} is not on the local disk: list its parts with part_urls")
    return [Path(url) for url in part_urls(root if "://" in str(directory) else directory)]


class TokenArrayWriter:
    """Writes one part: call :meth:`add` per document, then :meth:`close` (or :meth:`abort`).

    ``path`` is a local path or any fsspec URL; its suffix becomes ``.npy``. Files are written to local
    temporaries (:func:`olmo_core.io.staged_path`) that become the part's files when it is complete, metadata
    last.
    """

    def __init__(self, path: str | Path, *, tokenizer: dict[str, Any], eos_token_id: int, vocab_size: int) -> None:
        self.url = sibling(str(path), ".npy")
        self.dtype = dtype_for(vocab_size)
        self.tokenizer, self.eos, self.vocab_size = tokenizer, eos_token_id, vocab_size
        self._commit = staged_path(self.url)  # entered here, left by close() (kept) or abort() (removal)
        self._tokens = open(self._commit.__enter__(), "wb")  # noqa: SIM115 (closed by close() or abort())
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
            with storage_errors(self.url):
                self._tokens.write(data)
            self._digest.update(data)
            size += array.size
        self._csv.writerow([self._position, self._position + size, document_id, source, line])
        self._position += size
        self._documents += 1
        self._per_source[source] += size

    def close(self, **extra: Any) -> dict[str, Any]:
        """Finish the part and return its metadata (``extra`` is recorded in it too)."""
        with storage_errors(self.url):
            self._tokens.close()
        self._commit.__exit__(None, None, None)
        with open_atomic(sibling(self.url, ".csv.gz"), "wb", compression="gzip") as gz:
            gz.write(self._rows.getvalue().encode("utf-8"))
        meta = {"format": TOKEN_FORMAT, "dtype": self.dtype.str, "tokenizer": self.tokenizer,
                "eos_token_id": self.eos, "vocab_size": self.vocab_size, "tokens": self._position,
                "documents": self._documents, "tokens_per_source": dict(sorted(self._per_source.items())),
                "sha256": self._digest.hexdigest(), **extra}
        write_text(sibling(self.url, ".meta.json"), json.dumps(meta, indent=2) + "\n")
        return meta

    def abort(self) -> None:
        """Give up the part: nothing of it is left behind."""
        with contextlib.suppress(OSError):  # its buffer cannot be written (a full disk): it is removed anyway
            self._tokens.close()
        self._commit.__exit__(OlmoError, OlmoError("aborted"), None)


@dataclass
class TokenArray:
    """A part's tokens (memory-mapped when it is on the local disk) and, when known, where each document starts
    and ends."""

    path: PurePath
    """The ``.npy`` file: a local :class:`~pathlib.Path`, or for a part elsewhere the path inside its store (so
    that ``name`` and ``parent.name`` are those of a local copy); :attr:`url` says where it was read from."""
    tokens: np.ndarray[Any, Any] | RemoteTokens
    starts: np.ndarray[Any, Any]
    ends: np.ndarray[Any, Any]
    ids: list[str]
    sources: list[str]
    meta: dict[str, Any]
    url: str = ""
    """The ``.npy`` file as it was named, protocol included (``s3://bucket/tokens/part-00000.npy``)."""

    def __post_init__(self) -> None:
        self.url = self.url or str(self.path)

    def __len__(self) -> int:
        return int(self.tokens.shape[0])

    def document_at(self, position: int) -> int:
        """Index of the document that holds token ``position``."""
        if not 0 <= position < len(self):
            raise IndexError(f"token {position} is outside {self.url} ({_amount(len(self), 'token')})")
        return int(np.searchsorted(self.ends, position, side="right"))


def open_token_array(path: str | Path, *, dtype: str | None = None, eos_token_id: int | None = None) -> TokenArray:
    """Open a part written by :class:`TokenArrayWriter`, or a Dolma/OLMo ``.npy`` file, at a local path
    (memory-mapped) or any fsspec URL (read in ranges as its tokens are asked for: :class:`RemoteTokens`).

    Without olmo metadata, ``dtype`` (default uint16) gives the width, document boundaries come from a
    Dolma ``.csv.gz`` sidecar when there is one, else from ``eos_token_id`` when given.
    """
    url = str(path)
    fs, npy = url_to_fs(url)
    meta = part_meta(url)
    if meta and meta.get("format") != TOKEN_FORMAT:
        raise ConfigError(f"{sibling(url, '.meta.json')} has format {meta.get('format')!r}, expected {TOKEN_FORMAT!r}")
    if not fs.isfile(npy):
        raise ConfigError(f"no token file at {url}")
    width = np.dtype(meta.get("dtype") or dtype or "<u2")
    local = is_local(fs)
    tokens = _mapped(npy, width, url) if local else RemoteTokens(fs, npy, width, url)
    starts, ends, ids, sources = _documents(url, tokens, meta.get("eos_token_id", eos_token_id))
    where = Path(path if isinstance(path, Path) or "://" not in url else npy) if local else PurePosixPath(npy)
    return TokenArray(where, tokens, starts, ends, ids, sources, meta, url)


def part_meta(url: str) -> dict[str, Any]:
    """The olmo metadata of the token part ``url`` (its ``.meta.json``); ``{}`` for a Dolma/OLMo ``.npy`` without
    one."""
    meta_url = sibling(url, ".meta.json")
    return json.loads(read_text(meta_url)) if exists(meta_url) else {}  # type: ignore[no-any-return]


def _mapped(npy: str, width: np.dtype[Any], url: str) -> np.ndarray[Any, Any]:
    """The tokens of the local file ``npy``, memory-mapped."""
    with open(npy, "rb") as f:
        header = f.read(len(NPY_MAGIC))
    if header == NPY_MAGIC:
        return np.load(npy, mmap_mode="r")
    size = Path(npy).stat().st_size
    _check_size(size, width, url)
    return np.memmap(npy, dtype=width, mode="r") if size else np.zeros(0, dtype=width)


REMOTE_BLOCK_BYTES = 1 << 20
"""Bytes of a remote part read at a time (an instance's tokens are read with the block that holds them)."""
REMOTE_BLOCKS_KEPT = 8
"""Blocks of a remote part kept after they were read (the most recently used)."""


class RemoteTokens:
    """The tokens of a part at an fsspec URL, read as they are asked for: a read-only one-dimensional array of
    ``dtype`` for what a training loader does with a part (``len``, ``shape``, ``dtype``, slices, and
    ``np.asarray`` or :meth:`tolist` for all of it). A slice is read in whole blocks of :data:`REMOTE_BLOCK_BYTES`
    (ranged reads), the :data:`REMOTE_BLOCKS_KEPT` most recently used kept; a slice longer than the blocks kept
    is read in one request, as it is."""

    def __init__(self, fs: Any, path: str, width: np.dtype[Any], url: str) -> None:
        self._fs, self._path, self.url = fs, path, url
        head = fs.cat_file(path, start=0, end=min(fs.size(path), 4096))
        self._offset = 0
        if head.startswith(NPY_MAGIC):
            stream = io.BytesIO(head)
            version = np.lib.format.read_magic(stream)
            read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                           (2, 0): np.lib.format.read_array_header_2_0}.get(version)
            if read_header is None:
                raise ConfigError(f"{url} is a NumPy file of format {version}: save it with format 1.0 or 2.0")
            shape, fortran, width = read_header(stream)
            if len(shape) != 1 or fortran:
                raise ConfigError(f"{url} holds a {len(shape)}-dimensional array: token files are one-dimensional")
            self._offset = stream.tell()
            size = int(shape[0]) * np.dtype(width).itemsize
        else:
            size = int(fs.size(path))
            _check_size(size, width, url)
        self.dtype = np.dtype(width)
        self.shape = (size // self.dtype.itemsize,)
        self._blocks: dict[int, bytes] = {}

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: slice) -> np.ndarray[Any, Any]:
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError(f"{self.url}: remote tokens are read in contiguous slices, not [{key!r}]")
        start, stop, _ = key.indices(len(self))
        if stop <= start:
            return np.zeros(0, dtype=self.dtype)
        size = self.dtype.itemsize
        first, last = start * size, stop * size
        blocks = range(first // REMOTE_BLOCK_BYTES, (last - 1) // REMOTE_BLOCK_BYTES + 1)
        if len(blocks) > REMOTE_BLOCKS_KEPT:
            return np.frombuffer(self._read(first, last), dtype=self.dtype)
        data = b"".join(self._block(b) for b in blocks)
        base = blocks[0] * REMOTE_BLOCK_BYTES
        return np.frombuffer(data[first - base:last - base], dtype=self.dtype)

    def _block(self, number: int) -> bytes:
        found = self._blocks.pop(number, None)
        if found is None:
            start = number * REMOTE_BLOCK_BYTES
            found = self._read(start, min(start + REMOTE_BLOCK_BYTES, len(self) * self.dtype.itemsize))
            if len(self._blocks) >= REMOTE_BLOCKS_KEPT:
                del self._blocks[next(iter(self._blocks))]
        self._blocks[number] = found  # now the most recently used
        return found

    def _read(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of the tokens."""
        found = self._fs.cat_file(self._path, start=self._offset + start, end=self._offset + end)
        if len(found) != end - start:
            raise OlmoError(f"{self.url}: read {_amount(len(found), 'byte')} at {start}, expected {end - start}")
        return found

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray[Any, Any]:
        tokens = self[:]
        return tokens if dtype is None else tokens.astype(dtype)

    def tolist(self) -> list[int]:
        """Every token, read."""
        return self[:].tolist()


def _check_size(size: int, width: np.dtype[Any], url: str) -> None:
    if size % width.itemsize:
        raise ConfigError(f"{url} is {_amount(size, 'byte')}, not a whole number of {width} tokens: wrong dtype?")


def _amount(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless one: ``1 token``, ``1,000 tokens``."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _documents(npy: str, tokens: np.ndarray[Any, Any], eos: int | None) -> tuple[Any, Any, list[str], list[str]]:
    sidecar = sibling(npy, ".csv.gz")
    if exists(sidecar):
        with open_file(sidecar, "rt", compression="gzip", encoding="utf-8", newline="") as f:
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
    stem = posixpath.splitext(posixpath.basename(npy))[0]
    return starts, ends, [f"{stem}-{i}" for i in range(len(ends))], [""] * len(ends)
