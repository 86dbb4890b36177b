"""``bloom``: paragraphs seen before, found with a persistent Bloom filter (Dolma's ``bff`` paragraph mode)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from olmo_core.config import non_negative, positive
from olmo_core.documents import Document
from olmo_core.errors import ConfigError
from olmo_core.io import exists

from olmo_data.dedup.base import DedupContext, Deduper, DocumentRef, FileMarks, Marks, document_value, json_string
from olmo_data.dedup.bloomfilter import DIGEST_BYTES, ParagraphFilter, as_digests, bloom_parameters
from olmo_data.dedup.text import NORMALIZATIONS, check_choice, checked_batch, checked_paragraphs
from olmo_data.taggers.base import round_score

__all__ = ["BloomConfig", "BloomDeduper", "paragraph_settings"]

_SPAN = np.dtype("<i8")


def _per_document(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sums of ``values`` (one per paragraph) per document, given each document's count of paragraphs."""
    totals = np.concatenate([[0], np.cumsum(values, dtype=np.int64)])
    return np.diff(totals[np.concatenate([[0], np.cumsum(counts)])])


def _span_sizes(spans: np.ndarray) -> np.ndarray:
    """The characters of each ``(start, end)`` span."""
    sizes: np.ndarray = spans[:, 1] - spans[:, 0]
    return sizes


def paragraph_settings(normalize: str, min_chars: int) -> dict[str, Any]:
    """How a paragraph filter's items are made; a filter made otherwise cannot be checked against."""
    return {"hash": "xxh3-128", "paragraph": "line", "normalize": normalize, "min_chars": min_chars}


@dataclass(kw_only=True)
class BloomConfig:
    """Options of the ``bloom`` deduper."""

    expected_paragraphs: int | None = positive(None)
    """Paragraphs the filter is sized for, with ``false_positive_rate`` (1M at 1e-5: 2.9 MiB, 16 hashes); by
    default the paragraphs of the input that are checked (those of at least ``min_chars``, repeats included, so
    never fewer than the distinct ones). Past it the false-positive rate rises; the report gives the rate at the
    final count."""
    false_positive_rate: float = positive(1e-5)
    """Target probability, at the expected paragraphs, that a paragraph never seen is taken for a seen one."""
    normalize: str = "whitespace"
    """Paragraph normalization before hashing: ``none``, ``whitespace`` (runs of whitespace as one space,
    ends stripped) or ``simple`` (also lowercase, no accents or punctuation, digits as 0)."""
    min_chars: int = non_negative(20)
    """Paragraphs shorter than this after normalization are neither checked nor added: short lines (headings,
    a speaker's name, ``Thanks!``) repeat legitimately. Empty lines are always skipped."""
    document_threshold: float = non_negative(0.8)
    """``duplicate`` is 1 when duplicated paragraphs cover at least this share of the text's characters."""
    load: str | None = None
    """A filter file saved by an earlier run (of this or another dataset): its paragraphs count as seen, and
    its size is kept. It must have been made with the same ``normalize`` and ``min_chars``."""
    save: str | None = None
    """Where the filter is saved after the run (default: ``<dataset>/dedup/<name>.bloom``); another run or
    another dataset can ``load`` it."""
    read_only: bool = False
    """Check paragraphs against the filter without adding any (decontamination against a filter built from
    evaluation data); nothing is saved."""


class BloomDeduper(Deduper):
    """Marks paragraphs whose hash is in the filter and adds the others; the first occurrence is kept.

    A paragraph is a line with its ``\\n``; its digest is XXH3-128 of the normalized line without the
    ``\\n``. Paragraphs are checked in corpus order, a repeat inside one document included (a whole file's
    paragraphs in one batch, which answers what checking them one by one would). Attributes:
    ``duplicate_paragraph`` (a span ``[start, end, 1]`` per duplicated paragraph, newline included, so that
    ``replace=[... => ]`` removes it cleanly), ``duplicate_share`` (the share of the text's characters in
    those spans) and ``duplicate`` (1 when the share reaches ``document_threshold``).
    """

    def __init__(self, config: BloomConfig) -> None:
        check_choice(config.normalize, NORMALIZATIONS, "normalize")
        bloom_parameters(config.expected_paragraphs or 1, config.false_positive_rate)
        if not 0.0 < config.document_threshold <= 1.0:
            raise ConfigError(f"document_threshold must be in (0, 1], not {config.document_threshold}")
        if config.read_only and not config.load:
            raise ConfigError("bloom read_only=true checks paragraphs against a filter it never adds to: give the "
                              "filter to check against with load=<file> (an empty one would mark nothing)")
        self.config = config
        self.filter: ParagraphFilter | None = None
        self._save: str | None = None
        self._loaded_items = 0

    @property
    def settings(self) -> dict[str, Any]:
        """How paragraph hashes are made; a loaded filter must have been made the same way."""
        return paragraph_settings(self.config.normalize, self.config.min_chars)

    @property
    def independent(self) -> bool:
        """A read-only filter adds nothing, so each document is checked on its own."""
        return self.config.read_only

    @property
    def sized_by_input(self) -> bool:
        """A new filter without ``expected_paragraphs`` is sized from the input's paragraphs."""
        return self.config.expected_paragraphs is None and not self.config.load and not self.config.read_only

    def items(self, features: Any) -> int:
        """The document's checked paragraphs."""
        return len(features[1]) // DIGEST_BYTES

    def features(self, document: Document) -> tuple[bytes, bytes]:
        """The spans (``start, end`` pairs as little-endian int64) and the joined digests of the paragraphs long
        enough to be checked (:func:`~olmo_data.dedup.text.checked_paragraphs`)."""
        spans, digests = checked_paragraphs(document.text, self.config.normalize, self.config.min_chars)
        return np.asarray(spans, dtype=_SPAN).tobytes(), digests

    def features_all(self, documents: list[Document]) -> list[tuple[bytes, bytes]]:
        """:meth:`features` of each of ``documents``; without normalization, found for the whole batch at once
        (:func:`~olmo_data.dedup.text.checked_batch`)."""
        if self.config.normalize != "none":
            return [self.features(document) for document in documents]
        found = checked_batch([document.text for document in documents], self.config.min_chars)
        spans, digests, span = found.spans.astype(_SPAN, copy=False).tobytes(), found.digests, 2 * _SPAN.itemsize
        ends = np.cumsum(found.counts).tolist()
        return [(spans[span * start:span * end], digests[DIGEST_BYTES * start:DIGEST_BYTES * end])
                for start, end in zip([0, *ends], ends)]

    def begin(self, context: DedupContext) -> None:
        """Load the filter named by ``load``, or start an empty one sized by ``expected_paragraphs`` or else by the
        input's paragraphs (``context.items``, at least 1)."""
        config = self.config
        if config.load:
            if not exists(config.load):
                raise ConfigError(f"bloom load={config.load}: no such filter file")
            self.filter = ParagraphFilter.load(config.load)
            self.filter.check_settings(self.settings, config.load)
        else:
            expected = config.expected_paragraphs or context.items
            if expected is None and self.sized_by_input:
                raise RuntimeError("BloomDeduper.begin() needs the input's paragraphs (DedupContext.items) "
                                   "without expected_paragraphs")
            self.filter = ParagraphFilter(max(1, expected or 1), config.false_positive_rate, self.settings)
        self._loaded_items = self.filter.items
        self._save = None if config.read_only else (config.save or f"{context.root}/dedup/{context.name}.bloom")

    def mark(self, document: DocumentRef, features: Any) -> Marks:
        """Mark the paragraphs already in the filter; add the others (unless ``read_only``)."""
        return self.mark_all([document], [features])[0]

    def mark_all(self, documents: list[DocumentRef], features: list[Any]) -> list[Marks]:
        """Check (and, unless ``read_only``, add) the paragraphs of ``documents`` in one batch."""
        checked, seen, spans = self._check(features)
        marked, covered = _per_document(checked, seen), _per_document(checked, _span_sizes(spans) * seen)
        rows = np.column_stack([spans[seen], np.ones(int(seen.sum()), dtype=np.int64)]).tolist()
        marks, at = [], 0
        for document, found, count, chars in zip(documents, checked.tolist(), marked.tolist(), covered.tolist(),
                                                 strict=True):
            marks.append(self._marks(document, found, rows[at:at + count], chars))
            at += count
        return marks

    def mark_file(self, documents: list[DocumentRef], features: list[Any], prefix: str) -> FileMarks:
        """:meth:`mark_all`'s decisions, each document's attributes rendered straight from the arrays."""
        checked, seen, spans = self._check(features)
        marked, covered = _per_document(checked, seen), _per_document(checked, _span_sizes(spans) * seen)
        flat = spans[seen].ravel().tolist()
        threshold = self.config.document_threshold
        key = {name: json_string(prefix + name) for name in ("duplicate_paragraph", "duplicate_share", "duplicate")}
        head, share_key, duplicate_key = (f'{{{key["duplicate_paragraph"]}: [', f'], {key["duplicate_share"]}: [[0, ',
                                          f']], {key["duplicate"]}: [[0, ')
        attributes, duplicates, at = [], [], 0
        for document, count, chars in zip(documents, marked.tolist(), covered.tolist(), strict=True):
            size = document.length
            share = chars / size if size else 0.0
            duplicate = count > 0 and share >= threshold
            # what _marks' attributes give through json.dumps: a span per line, ints and floats by their repr
            paragraphs = ("[%d, %d, 1], " * count)[:-2] % tuple(flat[at:at + 2 * count]) if count else ""
            attributes.append(f"{head}{paragraphs}{share_key}{size}, {round_score(share)!r}{duplicate_key}{size}, "
                              f"{int(duplicate)}]]}}")
            duplicates.append(duplicate)
            at += 2 * count
        return FileMarks(attributes, np.array(duplicates, dtype=bool), covered,
                         {"paragraphs": checked, "duplicate_paragraphs": marked,
                          "documents_with_duplicate_paragraphs": (marked > 0).astype(np.int64)})

    def _check(self, features: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The checked paragraphs per document, whether each was seen, and their spans (``(n, 2)``)."""
        bloom = self.filter
        if bloom is None:
            raise RuntimeError("BloomDeduper.begin() must run before mark()")
        digests = as_digests(b"".join([digests for _, digests in features]))
        seen = bloom.check(digests) if self.config.read_only else bloom.check_and_add(digests)
        spans = np.frombuffer(b"".join([spans for spans, _ in features]), dtype=_SPAN).reshape(-1, 2)
        checked = np.fromiter((len(d) // DIGEST_BYTES for _, d in features), dtype=np.int64, count=len(features))
        return checked, seen, spans

    def _marks(self, document: DocumentRef, checked: int, spans: list[list[int]], covered: int) -> Marks:
        size = document.length
        share = covered / size if size else 0.0
        duplicate = bool(spans) and share >= self.config.document_threshold
        attributes = {"duplicate_paragraph": spans, "duplicate_share": document_value(size, float(share)),
                      "duplicate": document_value(size, int(duplicate))}
        counts = {"paragraphs": checked, "duplicate_paragraphs": len(spans),
                  "documents_with_duplicate_paragraphs": int(bool(spans))}
        return Marks(attributes, duplicate, covered, counts)

    def end(self) -> dict[str, Any]:
        """Save the filter (unless ``read_only``) and describe it."""
        bloom = self.filter
        if bloom is None:
            return {}
        if self._save:
            bloom.save(self._save)
        return {"filter": self._save or self.config.load, "loaded": self.config.load, "bits": bloom.bits,
                "bytes": bloom.bits // 8, "hashes": bloom.hashes, "expected_items": bloom.expected_items,
                "target_false_positive_rate": bloom.rate, "items_loaded": self._loaded_items,
                "items_added": bloom.items - self._loaded_items, "items": bloom.items,
                "false_positive_rate_now": float(f"{bloom.false_positive_rate():.3g}")}
