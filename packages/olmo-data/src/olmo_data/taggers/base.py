"""The tagger interface and Dolma's attribute conventions."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from olmo_core.config import non_negative
from olmo_core.documents import Document

__all__ = ["Attributes", "SizeLimit", "Span", "Tagger", "attribute_key", "attributes_problem", "line_windows",
           "round_score", "too_long"]

Span = list[float | int | str]
"""``[start, end, value]``: character offsets into the text and a score (or a label)."""
Attributes = dict[str, list[Span]]
"""Attribute name (without prefix) to its spans; a document-level value is one span over the whole text."""

SCORE_DIGITS = 5
LINE_WINDOW_CHARS = 1 << 20
"""A tagger whose counts add up over pieces of a text sees a long text in pieces of about this many characters
(:func:`line_windows`)."""


@runtime_checkable
class Tagger(Protocol):
    """Computes attributes of a document; registered through ``olmo_register_taggers``."""

    def tag(self, document: Document) -> Attributes:
        """The document's attributes, keyed by attribute name (``word_count``, ``en`` ...)."""
        ...


@dataclass(kw_only=True)
class SizeLimit:
    """The size limit of a tagger whose rules need a document's whole text at once (so memory grows with it)."""

    max_document_bytes: int = non_negative(8_000_000)
    """Longer documents (UTF-8 bytes) are quarantined by ``olmo data tag`` instead of tagged (0: no limit)."""


def line_windows(text: str) -> Iterator[str]:
    """``text`` in consecutive pieces of about :data:`LINE_WINDOW_CHARS` characters, each cut just after a
    newline, so that lines and words never straddle two pieces (``text`` itself when it is short or has no
    newline)."""
    start = 0
    while len(text) - start > LINE_WINDOW_CHARS and (cut := text.find("\n", start + LINE_WINDOW_CHARS) + 1):
        yield text[start:cut]
        start = cut
    yield text[start:] if start else text


def attributes_problem(attributes: Any, *, spans: bool) -> str | None:
    """What is wrong with a tagger's return value as :data:`Attributes` (``None``: nothing): it must be a dict of
    lists (or tuples); with ``spans``, also each one's items ``[start, end, value]`` (integer offsets, a number or a
    string)."""
    if not isinstance(attributes, dict):
        return f"returned {type(attributes).__name__}, not a dict of attribute spans"
    for name, value in attributes.items():
        if not isinstance(value, (list, tuple)):
            return f"attribute {name!r} is {value!r}, not a list of [start, end, value] spans"
        if spans:
            for span in value:
                if not (isinstance(span, (list, tuple)) and len(span) == 3 and all(type(x) is int for x in span[:2])
                        and isinstance(span[2], (int, float, str))):
                    return f"attribute {name!r} has the span {span!r}, not [start, end, value]"
    return None


def too_long(document: Document, taggers: Mapping[str, Any]) -> dict[str, str]:
    """Why ``document`` is over the ``max_document_bytes`` of each of ``taggers`` (by name) it is over (empty: none)."""
    found: dict[str, str] = {}
    for name, tagger in taggers.items():
        limit = getattr(getattr(tagger, "config", None), "max_document_bytes", None)
        if limit and len(document.text) * 4 > limit and (size := len(document.text.encode())) > limit:
            found[name] = f"too long for tagger '{name}' ({size:,} bytes > max_document_bytes={limit:,})"
    return found


def attribute_key(experiment: str, tagger: str, name: str) -> str:
    """Dolma's attribute key: ``<experiment>__<tagger>__<name>``."""
    return f"{experiment}__{tagger}__{name}"


def round_score(value: float) -> float:
    """A score rounded as Dolma stores it (5 digits)."""
    return round(float(value), SCORE_DIGITS)
