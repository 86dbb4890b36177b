"""Dolma documents: the unit every curation step reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Document", "DocumentError"]


class DocumentError(ValueError):
    """A record that is not a valid Dolma document; the message is the reason it was quarantined."""


@dataclass(slots=True, kw_only=True)
class Document:
    """One Dolma document: ``id`` (unique within its ``source``), ``text``, ``source``, timestamps, metadata."""

    id: str
    text: str
    source: str = ""
    added: str | None = None
    created: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, record: Any) -> Document:
        """Validate a parsed JSON record; raise :class:`DocumentError` saying what is wrong with it."""
        if not isinstance(record, dict):
            raise DocumentError(f"expected a JSON object, got {type(record).__name__}")
        text = record.get("text")
        if text is None:
            raise DocumentError("missing 'text'")
        if not isinstance(text, str):
            raise DocumentError(f"'text' is {type(text).__name__}, not a string")
        doc_id = record.get("id")
        if doc_id is None or isinstance(doc_id, (dict, list)):
            raise DocumentError("missing 'id'" if doc_id is None else "'id' is not a string or number")
        metadata = record.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise DocumentError("'metadata' is not an object")
        return cls(id=str(doc_id), text=text, source=str(record.get("source") or ""), added=record.get("added"),
                   created=record.get("created"), metadata=metadata)

    def to_json(self) -> dict[str, Any]:
        """The document as a Dolma JSON record."""
        record: dict[str, Any] = {"id": self.id, "text": self.text, "source": self.source}
        if self.added is not None:
            record["added"] = self.added
        if self.created is not None:
            record["created"] = self.created
        if self.metadata:
            record["metadata"] = self.metadata
        return record
