"""``exact``: documents whose text hash or URL an earlier document already has."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from olmo_core.documents import Document
from olmo_core.errors import ConfigError

from olmo_data.dedup.base import Deduper, DocumentRef, Marks, document_value
from olmo_data.dedup.partition import Groups
from olmo_data.dedup.text import HASHES, NORMALIZATIONS, check_choice, digest, mix64, normalize

__all__ = ["ExactConfig", "ExactDeduper"]


@dataclass(kw_only=True)
class ExactConfig:
    """Options of the ``exact`` deduper."""

    text: bool = True
    """Mark a document whose text (after ``normalize``) has the same digest as an earlier document's."""
    url: bool = True
    """Mark a document whose ``metadata.url`` (surrounding whitespace stripped) an earlier document has;
    documents without a URL are never marked by it."""
    algorithm: str = "sha1"
    """The text digest: ``sha1`` (160 bits, as Dolma's tooling commonly uses) or ``blake2b`` (128 bits)."""
    normalize: str = "none"
    """Text normalization before hashing: ``none`` (character for character), ``whitespace`` (runs of
    whitespace as one space, ends stripped) or ``simple`` (also lowercase, no accents or punctuation, digits
    as 0)."""


class ExactDeduper(Deduper):
    """Marks later occurrences of a text digest or a URL; the first occurrence is kept.

    Only kept documents are remembered, so ``duplicate_of`` always names a kept document.

    It decides in partitions: a document's buckets are its text digest and its URL (hashed to 64 bits).

    Attributes: ``duplicate`` (1 when the text or the URL repeats, else 0), ``text_duplicate``,
    ``url_duplicate``, and ``duplicate_of`` (the id of the first document with that text or URL; no span
    when the document is kept). Memory: one digest and one URL per distinct document.
    """

    def __init__(self, config: ExactConfig) -> None:
        check_choice(config.algorithm, HASHES, "algorithm")
        check_choice(config.normalize, NORMALIZATIONS, "normalize")
        if not (config.text or config.url):
            raise ConfigError("the exact deduper needs text=true or url=true (or both)")
        self.config = config
        self._texts: dict[bytes, str] = {}
        self._urls: dict[str, str] = {}

    def features(self, document: Document) -> tuple[bytes | None, str | None]:
        """The text digest (when ``text``) and the URL (when ``url`` and the document has one)."""
        text = digest(normalize(document.text, self.config.normalize), self.config.algorithm) \
            if self.config.text else None
        url = document.metadata.get("url") if self.config.url else None
        url = url.strip() if isinstance(url, str) and url.strip() else None
        return text, url

    def mark(self, document: DocumentRef, features: Any) -> Marks:
        """Mark the document when a kept document had its digest or URL; otherwise keep it and remember both."""
        text, url = features
        first_text = self._texts.get(text) if text is not None else None
        first_url = self._urls.get(url) if url is not None else None
        original = first_text or first_url
        if original is None:
            if text is not None:
                self._texts[text] = document.id
            if url is not None:
                self._urls[url] = document.id
        size = document.length
        attributes = {
            "duplicate": document_value(size, int(original is not None)),
            "text_duplicate": document_value(size, int(first_text is not None)),
            "url_duplicate": document_value(size, int(first_url is not None)),
            "duplicate_of": document_value(size, original) if original is not None else [],
        }
        counts = {"text": int(first_text is not None), "url": int(first_url is not None)}
        return Marks(attributes, original is not None, size if original is not None else 0, counts)

    @property
    def partitionable(self) -> bool:
        """Exact keys decide in partitions."""
        return True

    def bucket_hashes(self, features: Any) -> np.ndarray:
        """The text digest's first 8 bytes and the URL's BLAKE2b-64, each mixed with its kind."""
        text, url = features
        found = []
        if text is not None:
            found.append(int.from_bytes(text[:8], "little"))
        if url is not None:
            found.append(int.from_bytes(hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8,
                                                        person=b"olmo-url").digest(), "little"))
        return mix64(np.array(found, dtype=np.uint64))

    def resolver(self, groups: Groups) -> Deduper:
        """This deduper, deciding only the documents in a group and keeping every other one."""
        return _ExactResolver(self, groups)


def _kept(size: int) -> Marks:
    """The marks of a document kept by every rule."""
    attributes = {"duplicate": document_value(size, 0), "text_duplicate": document_value(size, 0),
                  "url_duplicate": document_value(size, 0), "duplicate_of": []}
    return Marks(attributes, False, 0, {"text": 0, "url": 0})


class _ExactResolver(Deduper):
    """Replays :class:`ExactDeduper`'s decisions over the groups of documents sharing a digest or URL hash."""

    def __init__(self, deduper: ExactDeduper, groups: Groups) -> None:
        self._deduper, self._groups, self._position = deduper, groups, 0

    def features(self, document: Document) -> tuple[bytes | None, str | None]:
        """The wrapped deduper's features."""
        return self._deduper.features(document)

    def mark(self, document: DocumentRef, features: Any) -> Marks:
        """Decide a document sharing a bucket with another; keep the others, remembering nothing."""
        shared = self._groups.of(self._position)
        self._position += 1
        return self._deduper.mark(document, features) if shared else _kept(document.length)

    def end(self) -> dict[str, Any]:
        """The wrapped deduper's numbers, once every document the partitions saw was decided."""
        self._groups.check_all_seen(self._position)
        return self._deduper.end()
