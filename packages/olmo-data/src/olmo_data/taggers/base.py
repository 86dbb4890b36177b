"""The tagger interface and Dolma's attribute conventions."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from olmo_core.documents import Document

__all__ = ["Attributes", "Span", "Tagger", "attribute_key", "round_score"]

Span = list[float | int | str]
"""``[start, end, value]``: character offsets into the text and a score (or a label)."""
Attributes = dict[str, list[Span]]
"""Attribute name (without prefix) to its spans; a document-level value is one span over the whole text."""

SCORE_DIGITS = 5


@runtime_checkable
class Tagger(Protocol):
    """Computes attributes of a document; registered through ``olmo_register_taggers``."""

    def tag(self, document: Document) -> Attributes:
        """The document's attributes, keyed by attribute name (``word_count``, ``en`` ...)."""
        ...


def attribute_key(experiment: str, tagger: str, name: str) -> str:
    """Dolma's attribute key: ``<experiment>__<tagger>__<name>``."""
    return f"{experiment}__{tagger}__{name}"


def round_score(value: float) -> float:
    """A score rounded as Dolma stores it (5 digits)."""
    return round(float(value), SCORE_DIGITS)
