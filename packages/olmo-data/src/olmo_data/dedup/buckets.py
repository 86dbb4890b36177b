"""Per-file bucket hashes, sorted, so that a partition's decide job reads only its slice of every file.

``phase=features`` writes, beside each partitionable deduper's features of a document file, the file's
``(bucket hash, document)`` pairs (:meth:`~olmo_data.dedup.base.Deduper.bucket_hashes`) sorted by hash, under
``<dataset>/dedup/buckets/<name>/<file>.buckets``. Partition ``i`` of ``N`` holds the hashes ``h`` with
``floor(h * N / 2**64) == i``: a contiguous range of the sorted pairs, which ``phase=decide partition=i/N`` finds
from a small prefix index and reads alone (two ranged reads on object storage). Over the N jobs each pair is read
once, so the decide phase costs what one job costs, split N ways (as datatrove's MinHash stages split buckets).

A buckets file is, in order:

1. a JSON header line: the input file below ``documents/``, the deduper's config, the features' key
   (:func:`olmo_core.cache.key_of` of the file's content and the deduper's config, as in the features file),
   ``documents`` (valid documents of the file), ``pairs`` and ``prefix_bits`` (B);
2. ``2**B + 1`` little-endian uint64 offsets: how many pairs have a hash whose top B bits are below each value;
3. the ``pairs`` hashes (little-endian uint64, ascending);
4. the ``pairs`` document numbers within the file (little-endian uint32, ascending among equal hashes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from olmo_core.config import changed_settings
from olmo_core.errors import ConfigError
from olmo_core.io import open_atomic, open_file

__all__ = ["FileBuckets", "buckets_path", "partition_bounds", "partition_of", "read_partition", "write_buckets"]

_MAGIC = "olmo-dedup-buckets"
_HASH, _DOCUMENT = np.dtype("<u8"), np.dtype("<u4")
PAIRS_PER_PREFIX = 64
"""About how many pairs each value of the prefix index covers (the index has at most 2**16 values)."""


def buckets_path(root: str, name: str, relative: str) -> str:
    """Where deduper ``name``'s sorted bucket hashes of the document file ``relative`` (below ``documents/``)
    are saved."""
    return f"{root}/dedup/buckets/{name}/{relative}.buckets"


def partition_of(hashes: np.ndarray, count: int) -> np.ndarray:
    """The partition (of ``count``) of each 64-bit hash: ``floor(h * count / 2**64)``."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    return np.searchsorted(np.array(partition_bounds(count)[1:-1], dtype=np.uint64), hashes, side="right")


def partition_bounds(count: int) -> list[int]:
    """The ``count + 1`` bounds of the partitions: partition ``i`` holds the hashes in ``[bounds[i],
    bounds[i + 1])`` (the last bound is ``2**64``)."""
    return [-(-(index << 64) // count) for index in range(count + 1)]


def _prefix_bits(pairs: int) -> int:
    return min(16, max(0, (pairs // PAIRS_PER_PREFIX).bit_length()))


def write_buckets(url: str, hashes: list[np.ndarray], *, file: str, config: dict[str, Any], key: str) -> None:
    """Write the bucket hashes of a file's documents (``hashes[d]``: document ``d``'s) to ``url``, sorted."""
    lengths = np.fromiter(map(len, hashes), dtype=np.int64, count=len(hashes))
    flat = np.concatenate(hashes).astype(_HASH, copy=False) if len(hashes) else np.zeros(0, dtype=_HASH)
    documents = np.repeat(np.arange(len(hashes), dtype=_DOCUMENT), lengths)
    order = np.argsort(flat, kind="stable")
    flat, documents = flat[order], documents[order]
    bits = _prefix_bits(len(flat))
    prefixes = flat >> np.uint64(64 - bits) if bits else np.zeros(len(flat), dtype=np.uint64)
    offsets = np.searchsorted(prefixes, np.arange((1 << bits) + 1, dtype=np.uint64)).astype(_HASH)
    header = {_MAGIC: 1, "file": file, "config": config, "key": key, "documents": len(hashes), "pairs": len(flat),
              "prefix_bits": bits}
    with open_atomic(url, "wb") as f:
        f.write(json.dumps(header).encode("utf-8") + b"\n")
        f.write(offsets.tobytes())
        f.write(flat.tobytes())
        f.write(documents.tobytes())


@dataclass(frozen=True)
class FileBuckets:
    """One partition's slice of a file's bucket hashes."""

    file: str
    """The document file below ``documents/``."""
    key: str
    """The key of the features they were computed from."""
    documents: int
    """Valid documents of the file."""
    hashes: np.ndarray
    """The partition's hashes (uint64), ascending."""
    positions: np.ndarray
    """The document number within the file of each hash (int64)."""


def read_partition(url: str, index: int, count: int, *, name: str, config: dict[str, Any]) -> FileBuckets:
    """The pairs of the buckets file ``url`` in partition ``index`` of ``count``, read alone; checked to be deduper
    ``name``'s with ``config``."""
    with open_file(url, "rb") as f:
        line = f.readline()
        try:
            header = json.loads(line)
            if header.get(_MAGIC) != 1:
                raise ValueError("no buckets header")
        except ValueError as exc:
            raise ConfigError(f"{url} is not a dedup buckets file ({exc}): run phase=features again") from exc
        if header["config"] != config:
            raise ConfigError(f"{url} was computed with other {name} settings than this run's "
                              f"({changed_settings(header['config'], config)}): run phase=features again with these "
                              f"settings")
        bits, pairs = header["prefix_bits"], header["pairs"]
        start = len(line)
        offsets = np.frombuffer(f.read(8 * ((1 << bits) + 1)), dtype=_HASH)
        low, high = partition_bounds(count)[index:index + 2]
        shift = 64 - bits
        first, last = int(offsets[low >> shift]), int(offsets[min((high - 1) >> shift, (1 << bits) - 1) + 1])
        data = start + 8 * len(offsets)
        f.seek(data + 8 * first)
        hashes = np.frombuffer(f.read(8 * (last - first)), dtype=_HASH)
        f.seek(data + 8 * pairs + 4 * first)
        positions = np.frombuffer(f.read(4 * (last - first)), dtype=_DOCUMENT)
    if len(hashes) != last - first or len(positions) != last - first:
        raise ConfigError(f"{url} is truncated: run phase=features again")
    begin = int(np.searchsorted(hashes, np.uint64(low)))
    end = len(hashes) if high >= 1 << 64 else int(np.searchsorted(hashes, np.uint64(high)))
    return FileBuckets(header["file"], header["key"], header["documents"], hashes[begin:end],
                       positions[begin:end].astype(np.int64))
