"""Deciding in partitions: N jobs each index 1/N of the keys, then one cheap pass replays the keep-first order.

A partitionable deduper gives every document 64-bit bucket hashes (:meth:`Deduper.bucket_hashes`): ``exact``
one per text digest and URL, ``minhash`` one per LSH band. Two documents can only affect each other's decision
when they share a bucket hash. ``phase=features`` saves each file's hashes sorted (:mod:`.buckets`);
``phase=decide partition=i/N`` reads, from every file in corpus order, only the ``(hash, position)`` pairs whose
hash falls in partition ``i`` (``floor(hash * N / 2**64) == i``), and writes the groups of positions that share a
hash (at least two) to ``dedup/partial/decide-<i>-of-<N>/<name>.jsonl.gz``. Its memory is 16 bytes per pair of
its partition (and a sort's working copy), about ``bands / N`` pairs per document; its reading, 1/N of the pairs.

``phase=resolve`` reads every partition's groups into :class:`Groups` and decides in corpus order again, with
each deduper's :meth:`Deduper.resolver`: a document in no group shares no key with any other, so it is kept
without a look-up and never remembered; the others are decided by the deduper itself, which remembers only them.
A document's candidates are earlier kept documents sharing a key, and those share its bucket hash, so they are in
its group: the decisions are the single-process ones (a hash collision only adds a document to the ones decided
in full). Memory: 16 bytes per group member, and the deduper's state for the documents in groups.
"""

from __future__ import annotations

import json
import resource
from array import array
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from olmo_core.config import changed_settings
from olmo_core.errors import ConfigError
from olmo_core.fast_json import parse_json_line
from olmo_core.io import glob, open_atomic, open_file

from olmo_data.dedup.text import mix64

__all__ = ["BucketIndex", "Groups", "parse_partition", "partial_dir", "partial_path", "peak_rss_bytes",
           "read_groups"]

_HEADER = "olmo-dedup-partial"


def parse_partition(spec: str) -> tuple[int, int]:
    """``(i, N)`` of a ``"i/N"`` partition spec."""
    index, sep, count = spec.partition("/")
    if not sep or not index.isdigit() or not count.isdigit() or not 0 <= int(index) < int(count):
        raise ConfigError(f"partition={spec!r} must look like i/N with 0 <= i < N (for example partition=0/4)")
    return int(index), int(count)


def partial_dir(root: str, index: int, count: int) -> str:
    """The directory of partition ``index`` of ``count``'s groups."""
    return f"{root}/dedup/partial/decide-{index}-of-{count}"


def partial_path(root: str, index: int, count: int, name: str) -> str:
    """Deduper ``name``'s groups found by partition ``index`` of ``count``."""
    return f"{partial_dir(root, index, count)}/{name}.jsonl.gz"


def peak_rss_bytes() -> int:
    """This process's peak resident memory so far (``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


class BucketIndex:
    """The ``(bucket hash, position)`` pairs of one partition, added file by file in corpus order."""

    def __init__(self) -> None:
        self._hashes: list[np.ndarray] = []
        self._positions: list[np.ndarray] = []
        self.pairs = 0

    def add(self, hashes: np.ndarray, positions: np.ndarray) -> None:
        """Add the pairs of one file (``positions`` in the corpus, ascending among equal hashes); files are added
        in corpus order."""
        self._hashes.append(np.asarray(hashes, dtype=np.uint64))
        self._positions.append(np.asarray(positions, dtype=np.int64))
        self.pairs += len(hashes)

    def groups(self) -> Iterator[np.ndarray]:
        """The positions (ascending) of each hash held by at least two documents, in hash order; empties the
        index."""
        hashes = np.concatenate(self._hashes) if self._hashes else np.zeros(0, dtype=np.uint64)
        self._hashes.clear()
        order = np.argsort(hashes, kind="stable")  # positions were added in ascending order
        hashes = hashes[order]
        positions = np.concatenate(self._positions)[order] if self._positions else np.zeros(0, dtype=np.int64)
        self._positions.clear()
        del order
        if not len(hashes):
            return
        starts = np.flatnonzero(np.concatenate(([True], hashes[1:] != hashes[:-1])))
        ends = np.append(starts[1:], len(hashes))
        shared = ends - starts >= 2
        for begin, end in zip(starts[shared].tolist(), ends[shared].tolist(), strict=True):
            yield positions[begin:end]

    def write(self, url: str, header: dict[str, Any]) -> dict[str, int]:
        """Write the groups to ``url`` (a header line, then one JSON list of positions per group); return the
        counts."""
        groups = members = 0
        pairs = self.pairs
        with open_atomic(url, "wt", compression="gzip", encoding="utf-8") as f:
            f.write(json.dumps({_HEADER: 1, **header, "pairs": pairs}) + "\n")
            for positions in self.groups():
                f.write(json.dumps(positions.tolist()) + "\n")
                groups, members = groups + 1, members + len(positions)
        return {"pairs": pairs, "groups": groups, "group_members": members}


class Groups:
    """Every partition's groups, asked in ascending corpus position for the groups holding each document.

    Memory: 16 bytes per group member plus 8 per group.
    """

    def __init__(self, members: np.ndarray, sizes: np.ndarray, documents: int) -> None:
        """``members``: every group's positions (ascending within a group), one group after the other; ``sizes``:
        how many each group has; ``documents``: the corpus's."""
        self.documents = documents
        members, sizes = np.asarray(members, dtype=np.int64), np.asarray(sizes, dtype=np.int64)
        ids = np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)
        order = np.argsort(members, kind="stable")
        self._positions, self._ids = members[order], ids[order]
        self.last = members[np.cumsum(sizes) - 1] if len(sizes) else np.zeros(0, dtype=np.int64)
        """The last (highest) position of each group."""
        self._next = 0

    def __len__(self) -> int:
        return len(self.last)

    def check_all_seen(self, seen: int) -> None:
        """Raise a :class:`ConfigError` unless ``seen`` documents, as many as the partitions saw, were decided."""
        if seen != self.documents:
            raise ConfigError(f"phase=resolve: the saved features hold {seen:,} documents, the partitions saw "
                              f"{self.documents:,}: run phase=decide partition=i/N again")

    def of(self, position: int) -> list[int]:
        """The groups holding the document at ``position``; positions must be asked in ascending order."""
        if position >= self.documents:
            raise ConfigError(f"phase=resolve: the saved features hold more than the {self.documents:,} documents "
                              f"the partitions saw: run phase=decide partition=i/N again")
        while self._next < len(self._positions) and self._positions[self._next] < position:
            self._next += 1
        start = self._next
        while self._next < len(self._positions) and self._positions[self._next] == position:
            self._next += 1
        return self._ids[start:self._next].tolist()


def read_groups(root: str, name: str, config: dict[str, Any], features: str) -> tuple[Groups, dict[str, Any]]:
    """Deduper ``name``'s groups from every partition under ``root/dedup/partial/``, checked to come from one
    complete set of ``decide-i-of-N`` jobs run with ``config`` over the saved features whose combined key is
    ``features``; also a summary (``partitions``, counts)."""
    found: dict[int, dict[int, str]] = {}
    for path in glob(f"{root}/dedup/partial/decide-*-of-*/{name}.jsonl.gz"):
        index, _, count = path.rsplit("/", 2)[-2].removeprefix("decide-").partition("-of-")
        found.setdefault(int(count), {})[int(index)] = path
    if not found:
        raise ConfigError(f"phase=resolve: no partitions of '{name}' under {root}/dedup/partial/: run phase=decide "
                          f"partition=i/N for every i first")
    if len(found) > 1:
        raise ConfigError(f"phase=resolve: {root}/dedup/partial/ holds partitions of runs with N = "
                          f"{', '.join(map(str, sorted(found)))}: remove the stale decide-*-of-* directories")
    count, paths = found.popitem()
    missing = [i for i in range(count) if i not in paths]
    if missing:
        raise ConfigError(f"phase=resolve: {len(missing)} of {count} partitions of '{name}' are missing (first: "
                          f"partition={missing[0]}/{count}): run phase=decide partition=i/{count} for each")
    members, sizes = array("q"), array("q")
    documents: set[int] = set()
    totals = {"pairs": 0, "groups": 0}
    for index in range(count):
        path = paths[index]
        with open_file(path, "rt", compression="gzip", encoding="utf-8") as f:
            header = json.loads(f.readline())
            if header.get("config") != config:
                raise ConfigError(f"{path} was decided with other {name} settings than this run's "
                                  f"({changed_settings(header.get('config'), config)}): run phase=decide "
                                  f"partition=i/N again with these settings")
            if header.get("features") != features:
                raise ConfigError(f"{path} was decided over other saved features than the ones under "
                                  f"{root}/dedup/features/ now (phase=features ran again since): run phase=decide "
                                  f"partition=i/N again")
            documents.add(header["documents"])
            totals["pairs"] += header["pairs"]
            for line in f:
                group = parse_json_line(line)
                members.extend(group)
                sizes.append(len(group))
    totals["groups"] = len(sizes)
    if len(documents) != 1:
        raise ConfigError(f"phase=resolve: the partitions of '{name}' saw different corpora ({sorted(documents)} "
                          f"documents): run every partition again over the same features")
    return Groups(np.frombuffer(members, dtype=np.int64), np.frombuffer(sizes, dtype=np.int64), documents.pop()), \
        {"partitions": count, **totals}


def bucket_hash(columns: np.ndarray) -> np.ndarray:
    """One 64-bit hash per row of ``columns`` (uint64, rows of equal width): a mixed, position-weighted sum."""
    weights = mix64(np.arange(1, columns.shape[1] + 1, dtype=np.uint64)) | np.uint64(1)
    with np.errstate(over="ignore"):
        return mix64((columns * weights).sum(axis=1, dtype=np.uint64))
