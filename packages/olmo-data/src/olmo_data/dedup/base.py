"""The deduper interface: per-document work that runs anywhere, then decisions taken in corpus order.

A deduper is built from its config (``factory(config)``, registered through ``olmo_register_dedupers``) and
used in two phases, so that its results do not depend on how many processes computed them:

1. :meth:`Deduper.features` computes what one document contributes (hashes, signatures). It depends on that
   document alone, and ``olmo data dedup`` calls it in worker processes, one file per task.
2. :meth:`Deduper.mark` sees the documents one at a time in corpus order (files in sorted order, then lines)
   in a single process, and decides against what it has kept so far: the first occurrence is kept, later
   ones are marked. :meth:`Deduper.begin` and :meth:`Deduper.end` bracket this phase (loading and saving
   state, such as a Bloom filter file).

Marks become Dolma attributes under ``attributes/<name>/`` with keys ``<name>__<name>__<attribute>``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from olmo_core.documents import Document

from olmo_data.taggers.base import Attributes, round_score

__all__ = ["DedupContext", "Deduper", "DocumentRef", "Marks", "document_value"]


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


@dataclass(frozen=True)
class DedupContext:
    """Where a deduper runs: the dataset directory and the name it was selected under."""

    root: str
    """The dataset directory that receives ``attributes/``, ``reports/`` and ``dedup/``."""
    name: str
    """The deduper's name in this run: its attribute directory and key prefix."""


class Deduper(ABC):
    """Marks documents (or spans of them) that repeat earlier ones."""

    @abstractmethod
    def features(self, document: Document) -> Any:
        """What ``document`` contributes to the decision; picklable, and a function of the document alone."""

    @property
    def independent(self) -> bool:
        """Whether :meth:`mark` decides each document on its own, remembering nothing (a read-only check
        against a saved filter): then a shard's files can be decided in the shard's own job."""
        return False

    def begin(self, context: DedupContext) -> None:
        """Prepare the deciding phase (load saved state); called once, in the deciding process."""

    @abstractmethod
    def mark(self, document: DocumentRef, features: Any) -> Marks:
        """Decide about the next document in corpus order, given its :meth:`features`; remember it if kept."""

    def end(self) -> dict[str, Any]:
        """Finish the deciding phase (save state); return deduper-specific numbers for the report."""
        return {}


def document_value(length: int, value: float | int | str) -> list[list[float | int | str]]:
    """A document-level attribute: one span over the whole text, scores rounded as Dolma stores them."""
    if isinstance(value, float):
        value = round_score(value)
    return [[0, length, value]]
