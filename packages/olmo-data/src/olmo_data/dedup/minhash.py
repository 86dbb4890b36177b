"""``minhash``: near-duplicate documents, found with MinHash signatures and LSH banding (datasketch)."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

import numpy as np

from olmo_core.config import non_negative, positive
from olmo_core.documents import Document
from olmo_core.errors import ConfigError

from olmo_data.dedup.base import Deduper, DocumentRef, Marks, document_value
from olmo_data.dedup.partition import Groups, bucket_hash
from olmo_data.dedup.text import NORMALIZATIONS, check_choice, shingle_hashes, words

__all__ = ["MinHashConfig", "MinHashDeduper", "exact_jaccard"]

_SCHEME = "affine64"


@dataclass(kw_only=True)
class MinHashConfig:
    """Options of the ``minhash`` deduper; the defaults are datatrove's (5-word shingles, 14 bands of 8)."""

    shingle: int = positive(5)
    """Words per shingle (word n-grams of the normalized text)."""
    num_perm: int = positive(112)
    """Permutations (hash functions) in each signature; at least ``bands * rows``."""
    bands: int = positive(14)
    """LSH bands: two documents become candidates when all ``rows`` values of any one band agree."""
    rows: int = positive(8)
    """Signature values per band."""
    threshold: float | None = non_negative(None)
    """Similarity from which a candidate counts as a duplicate; default: the LSH threshold
    ``(1 / bands) ** (1 / rows)`` (0.719 for 14 x 8), where the chance of becoming a candidate is steepest."""
    seed: int = non_negative(1)
    """Seed of the permutations: signatures are comparable only under the same seed and ``num_perm``."""
    normalize: str = "simple"
    """Normalization before splitting into words: ``simple`` (lowercase, no accents or punctuation, digits
    as 0), ``whitespace`` or ``none``."""
    verify: bool = False
    """Use the exact Jaccard similarity of the shingle sets instead of the MinHash estimate (keeps every
    kept document's shingle hashes in memory)."""


def exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted arrays of distinct shingle hashes."""
    if not len(a) and not len(b):
        return 1.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)


def _as_is(value: Any) -> Any:
    return value


def _marks(size: int, match: str | None, best: float) -> Marks:
    """The marks of a document whose best candidate (``best``) made it a duplicate of ``match``, or not (``None``)."""
    duplicate = match is not None
    attributes = {"duplicate": document_value(size, int(duplicate)),
                  "duplicate_of": document_value(size, match) if match is not None else [],
                  "similarity": document_value(size, float(best))}
    return Marks(attributes, duplicate, size if duplicate else 0)


class MinHashDeduper(Deduper):
    """Marks a document whose similarity to an earlier kept document reaches the threshold.

    Each document's distinct word shingles are hashed to 64 bits and summarized by a MinHash signature of
    ``num_perm`` values (datasketch's ``affine64`` permutations from ``seed``). In corpus order, a document's
    LSH candidates among the kept documents are scored (estimated Jaccard: the share of equal signature
    values; exact Jaccard with ``verify``); the best one at or above the threshold makes it a duplicate,
    otherwise it is kept and indexed. An empty document is never a near-duplicate.

    It decides in partitions: a document's buckets are its LSH bands (the band's number and values, hashed to 64
    bits), as datatrove's multi-stage MinHash buckets them.

    Attributes: ``duplicate`` (1 or 0), ``duplicate_of`` (the matched document's id; no span when kept) and
    ``similarity`` (the best candidate's similarity, 0 without candidates).
    """

    def __init__(self, config: MinHashConfig) -> None:
        check_choice(config.normalize, NORMALIZATIONS, "normalize")
        if config.shingle < 1:
            raise ConfigError(f"shingle must be at least 1 word, not {config.shingle}")
        if config.bands < 2 or config.rows < 1 or config.bands * config.rows > config.num_perm:
            raise ConfigError(f"minhash needs bands >= 2, rows >= 1 and bands * rows <= num_perm, not "
                              f"{config.bands} x {config.rows} with num_perm={config.num_perm}")
        self.config = config
        self.threshold = config.threshold if config.threshold is not None else \
            (1.0 / config.bands) ** (1.0 / config.rows)
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1], not {self.threshold}")
        self._base: Any = None
        self._index: Any = None
        self._kept: dict[int, tuple[str, Any, np.ndarray | None]] = {}
        self._seen = 0

    def _empty(self) -> Any:
        if self._base is None:
            from datasketch import MinHash

            self._base = MinHash(num_perm=self.config.num_perm, seed=self.config.seed, hashfunc=_as_is,
                                 scheme=_SCHEME)
        return self._base

    def features(self, document: Document) -> tuple[np.ndarray, np.ndarray | None] | None:
        """The signature's values and (with ``verify``) the shingle hashes; ``None`` for an empty text."""
        shingles = shingle_hashes(words(document.text, self.config.normalize), self.config.shingle)
        if not len(shingles):
            return None
        signature = self._empty().copy()
        signature.update_batch(shingles.tolist())
        return signature.hashvalues, shingles if self.config.verify else None

    def mark(self, document: DocumentRef, features: Any) -> Marks:
        """Score the document against its LSH candidates; mark it or keep and index it."""
        size = document.length
        best, match = 0.0, None
        if features is not None:
            from datasketch import LeanMinHash, MinHashLSH

            values, shingles = features
            signature = LeanMinHash(seed=self.config.seed, hashvalues=values, scheme=_SCHEME)
            if self._index is None:
                self._index = MinHashLSH(num_perm=self.config.num_perm, params=(self.config.bands, self.config.rows))
            for key in sorted(self._index.query(signature)):
                other_id, other, other_shingles = self._kept[key]
                if shingles is not None and other_shingles is not None:
                    score = exact_jaccard(shingles, other_shingles)
                else:
                    score = signature.jaccard(other)
                if score > best:
                    best, match = score, other_id
            if match is None or best < self.threshold:
                match = None
                self._index.insert(self._seen, signature, check_duplication=False)
                self._kept[self._seen] = (document.id, signature, shingles)
        self._seen += 1
        return _marks(size, match, best)

    def end(self) -> dict[str, Any]:
        """The LSH parameters used and how many documents were indexed."""
        return {"threshold": round(self.threshold, 5), "bands": self.config.bands, "rows": self.config.rows,
                "num_perm": self.config.num_perm, "shingle": self.config.shingle, "indexed": len(self._kept)}

    @property
    def partitionable(self) -> bool:
        """LSH bands decide in partitions."""
        return True

    def bucket_hashes(self, features: Any) -> np.ndarray:
        """One hash per band: of the band's number and its ``rows`` signature values (none for an empty text)."""
        if features is None:
            return np.zeros(0, dtype=np.uint64)
        bands, rows = self.config.bands, self.config.rows
        values = np.asarray(features[0], dtype=np.uint64)[:bands * rows].reshape(bands, rows)
        return bucket_hash(np.column_stack((np.arange(bands, dtype=np.uint64), values)))

    def resolver(self, groups: Groups) -> Deduper:
        """Decides as this deduper, comparing a document in a group with the earlier kept members of its groups
        (those that share a band with it) and keeping every other document unseen."""
        return _MinHashResolver(self, groups)


class _MinHashResolver(Deduper):
    """Replays :class:`MinHashDeduper`'s decisions over the groups of documents sharing a band's bucket hash.

    A document's LSH candidates are the earlier kept documents that share one of its bands, so they are kept
    members of its groups: those, checked to share a band (a hash collision is no candidate), are scored in
    ascending position as the deduper scores them. Only kept documents in a group are remembered (their signature
    and, with ``verify``, shingles), until their groups' last member is decided; per group, its first kept member.
    """

    def __init__(self, deduper: MinHashDeduper, groups: Groups) -> None:
        self._deduper, self._groups, self._position, self._indexed = deduper, groups, 0, 0
        self._first = np.full(len(groups), -1, dtype=np.int64)
        self._more: dict[int, list[int]] = {}
        self._kept: dict[int, tuple[str, np.ndarray, np.ndarray | None]] = {}
        self._expiry: list[tuple[int, int]] = []
        config = deduper.config
        self._banded = config.bands * config.rows

    def features(self, document: Document) -> tuple[np.ndarray, np.ndarray | None] | None:
        """The wrapped deduper's features."""
        return self._deduper.features(document)

    def _candidates(self, shared: list[int], values: np.ndarray) -> list[int]:
        keys = {int(self._first[g]) for g in shared if self._first[g] >= 0}
        for group in shared:
            keys.update(self._more.get(group, ()))
        rows, mine = self._deduper.config.rows, values[:self._banded].reshape(-1, self._deduper.config.rows)
        return [key for key in sorted(keys) if key in self._kept and
                bool((self._kept[key][1][:self._banded].reshape(-1, rows) == mine).all(axis=1).any())]

    def mark(self, document: DocumentRef, features: Any) -> Marks:
        """Score a document in a group against its groups' kept members; keep every other document."""
        position = self._position
        self._position += 1
        shared = self._groups.of(position)
        while self._expiry and self._expiry[0][0] < position:
            self._kept.pop(heapq.heappop(self._expiry)[1], None)
        best, match = 0.0, None
        if features is not None:
            values, shingles = features
            for key in self._candidates(shared, values) if shared else ():
                other_id, other, other_shingles = self._kept[key]
                if shingles is not None and other_shingles is not None:
                    score = exact_jaccard(shingles, other_shingles)
                else:
                    score = float(np.count_nonzero(values == other)) / float(len(values))
                if score > best:
                    best, match = score, other_id
            if match is None or best < self._deduper.threshold:
                match = None
                self._indexed += 1
                if shared:
                    self._remember(position, shared, (document.id, values, shingles))
        return _marks(document.length, match, best)

    def _remember(self, position: int, shared: list[int], kept: tuple[str, np.ndarray, np.ndarray | None]) -> None:
        self._kept[position] = kept
        for group in shared:
            if self._first[group] < 0:
                self._first[group] = position
            else:
                self._more.setdefault(group, []).append(position)
        heapq.heappush(self._expiry, (max(int(self._groups.last[g]) for g in shared), position))

    def end(self) -> dict[str, Any]:
        """The wrapped deduper's numbers, with the documents kept here as indexed."""
        self._groups.check_all_seen(self._position)
        return {**self._deduper.end(), "indexed": self._indexed}
