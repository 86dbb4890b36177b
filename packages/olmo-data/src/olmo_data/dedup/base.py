"""The deduper interface: per-document work that runs anywhere, then decisions taken in corpus order.

A deduper is built from its config (``factory(config)``, registered through ``olmo_register_dedupers``) and
used in two phases, so that its results do not depend on how many processes computed them:

1. :meth:`Deduper.features` computes what one document contributes (hashes, signatures). It depends on that
   document alone, and ``olmo data dedup`` calls it in worker processes, one file per task, through
   :meth:`Deduper.features_all` (consecutive documents of the file at once; ``bloom`` finds a batch's
   paragraphs together). A worker builds each deduper once and uses it for every file it handles.
2. :meth:`Deduper.mark` sees the documents one at a time in corpus order (files in sorted order, then lines)
   in a single process, and decides against what it has kept so far: the first occurrence is kept, later
   ones are marked (:meth:`Deduper.mark_all` takes a file's documents at once, and :meth:`Deduper.mark_file`
   returns them as the columns the job writes and counts). :meth:`Deduper.begin` and :meth:`Deduper.end`
   bracket this phase (loading and saving state, such as a Bloom filter file).

A deduper whose decisions only link documents that share a key (``exact``, ``minhash``) can also decide in
partitions (:attr:`Deduper.partitionable`, see :mod:`.partition`): :meth:`Deduper.bucket_hashes` says which
documents may affect each other, and :meth:`Deduper.resolver` replays the corpus-order decisions from the groups
of documents sharing a bucket. A deduper whose decisions must be sized up front (``bloom``'s filter) counts what
each document adds with :meth:`Deduper.items`; the deciding phase gets the total as :attr:`DedupContext.items`.

Marks become Dolma attributes under ``attributes/<name>/`` with keys ``<name>__<name>__<attribute>``.
"""

from __future__ import annotations

import json
import json.encoder
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from olmo_core.documents import Document

from olmo_data.taggers.base import Attributes, round_score

if TYPE_CHECKING:
    from olmo_data.dedup.partition import Groups

__all__ = ["DedupContext", "Deduper", "DocumentRef", "FileMarks", "Marks", "document_value", "json_string"]

json_string = json.encoder.encode_basestring
"""A string as ``json.dumps(..., ensure_ascii=False)`` writes it (for attribute rows rendered as text)."""


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """A document as the deciding phase sees it, without its text."""

    id: str
    source: str
    length: int
    """Characters of the text."""
    file: str
    """The document file it was read from."""


@dataclass(slots=True)
class Marks:
    """What a deduper decided about one document."""

    attributes: Attributes
    """Attribute name (without prefix) to spans; every document gets the same names."""
    duplicate: bool
    """Whether the document counts as a duplicate (the filter's usual reason to drop it)."""
    characters: int
    """Characters marked: the whole text for a duplicate document, the duplicated spans otherwise."""
    counts: dict[str, int] = field(default_factory=dict)
    """Deduper-specific counts summed into the report (``{"url": 1}``, ``{"duplicate_paragraphs": 3}``)."""


@dataclass(slots=True)
class FileMarks:
    """What a deduper decided about one file's documents, one entry per document, as the job writes and counts
    them (:meth:`Deduper.mark_file`)."""

    attributes: list[str]
    """Each document's attributes as the JSON object text of ``json.dumps(..., ensure_ascii=False)``, keys with
    their ``<name>__<name>__`` prefix."""
    duplicate: np.ndarray
    """Whether each document counts as a duplicate (bool)."""
    characters: np.ndarray
    """Characters marked per document (int64)."""
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    """Deduper-specific counts per document (int64), by name."""

    @classmethod
    def of(cls, marks: list[Marks], prefix: str) -> FileMarks:
        """The columns of ``marks``; a count that a document's :attr:`Marks.counts` lacks is 0 for it."""
        names = list(dict.fromkeys(key for mark in marks for key in mark.counts))
        return cls(
            [json.dumps({prefix + key: value for key, value in mark.attributes.items()}, ensure_ascii=False)
             for mark in marks],
            np.fromiter((mark.duplicate for mark in marks), dtype=bool, count=len(marks)),
            np.fromiter((mark.characters for mark in marks), dtype=np.int64, count=len(marks)),
            {name: np.fromiter((mark.counts.get(name, 0) for mark in marks), dtype=np.int64, count=len(marks))
             for name in names})


@dataclass(frozen=True)
class DedupContext:
    """Where a deduper runs: the dataset directory and the name it was selected under."""

    root: str
    """The dataset directory that receives ``attributes/``, ``reports/`` and ``dedup/``."""
    name: str
    """The deduper's name in this run: its attribute directory and key prefix."""
    items: int | None = None
    """The sum of :meth:`Deduper.items` over every document of the input, when the deduper asked for it
    (:attr:`Deduper.sized_by_input`)."""


class Deduper(ABC):
    """Marks documents (or spans of them) that repeat earlier ones."""

    @abstractmethod
    def features(self, document: Document) -> Any:
        """What ``document`` contributes to the decision; picklable, and a function of the document alone."""

    def features_all(self, documents: list[Document]) -> list[Any]:
        """:meth:`features` of each of ``documents`` (consecutive valid documents of one file). A deduper may
        override it to compute a batch at once, with the same answers."""
        return [self.features(document) for document in documents]

    @property
    def independent(self) -> bool:
        """Whether :meth:`mark` decides each document on its own, remembering nothing (a read-only check
        against a saved filter): then a shard's files can be decided in the shard's own job."""
        return False

    @property
    def sized_by_input(self) -> bool:
        """Whether :meth:`begin` needs :attr:`DedupContext.items`, counted over the whole input first."""
        return False

    def items(self, features: Any) -> int:
        """What one document adds to :attr:`DedupContext.items` (``bloom``: its paragraphs)."""
        return 0

    @property
    def partitionable(self) -> bool:
        """Whether this deduper can decide in partitions (:meth:`bucket_hashes` and :meth:`resolver`)."""
        return False

    def bucket_hashes(self, features: Any) -> np.ndarray:
        """The 64-bit hashes (uint64) of the buckets the document falls in: a document's decision can only depend
        on earlier documents that share one of them (equal keys must give equal hashes)."""
        raise NotImplementedError(f"{type(self).__name__} does not decide in partitions")

    def resolver(self, groups: Groups) -> Deduper:
        """A deduper whose :meth:`mark` (called for every document in corpus order) takes the same decisions
        as this one's, knowing which documents share a bucket (``groups``)."""
        raise NotImplementedError(f"{type(self).__name__} does not decide in partitions")

    def begin(self, context: DedupContext) -> None:
        """Prepare the deciding phase (load saved state); called once, in the deciding process."""

    @abstractmethod
    def mark(self, document: DocumentRef, features: Any) -> Marks:
        """Decide about the next document in corpus order, given its :meth:`features`; remember it if kept."""

    def mark_all(self, documents: list[DocumentRef], features: list[Any]) -> list[Marks]:
        """:meth:`mark` for each of ``documents`` (consecutive in corpus order) with its features: one file at a
        time. A deduper may override it to decide a whole batch at once, with the same answers."""
        return [self.mark(document, found) for document, found in zip(documents, features, strict=True)]

    def mark_file(self, documents: list[DocumentRef], features: list[Any], prefix: str) -> FileMarks:
        """:meth:`mark_all`, as the columns that the job writes (attribute keys prefixed with ``prefix``) and
        counts. A deduper may override it to render a file's attributes faster, with the same text."""
        return FileMarks.of(self.mark_all(documents, features), prefix)

    def end(self) -> dict[str, Any]:
        """Finish the deciding phase (save state); return deduper-specific numbers for the report."""
        return {}


def document_value(length: int, value: float | int | str) -> list[list[float | int | str]]:
    """A document-level attribute: one span over the whole text, scores rounded as Dolma stores them."""
    if isinstance(value, float):
        value = round_score(value)
    return [[0, length, value]]
