"""Exact per-source counts of one document file, and their combination over files.

Each file (or each part of a large file) is counted on its own, in a worker process, into :class:`FileCounts`;
the command adds the counts together in file (and part) order, so that every number, and the order of every list,
is the same for any number of workers and any part size.
"""

from __future__ import annotations

import functools
from array import array
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from olmo_core.documents import Document, Quarantined
from olmo_core.tokenizer import load_tokenizer

from olmo_data.analysis.attributes import AttributeRows, language_of, pii_spans_of
from olmo_data.analysis.text import ngrams, paragraphs, text_hash, words
from olmo_data.layout import Layout
from olmo_data.parallel import Part, counted

__all__ = ["FileCounts", "Plan", "SourceCounts", "count_part", "source_name"]

TOKENIZER_BATCH = 256
"""Documents handed to the tokenizer at once."""


def source_name(document: Document) -> str:
    """The source a document is counted under (``(none)`` when it names none)."""
    return document.source or "(none)"


@dataclass
class SourceCounts:
    """What the documents of one source hold: sizes, per-document lengths, n-grams, hashes, tags."""

    documents: int = 0
    bytes: int = 0
    characters: int = 0
    words: int = 0
    tokens: int = 0
    character_lengths: array[int] = field(default_factory=lambda: array("q"))
    token_lengths: array[int] = field(default_factory=lambda: array("q"))
    ngrams: dict[int, Counter[str]] = field(default_factory=dict)
    document_hashes: Counter[int] = field(default_factory=Counter)
    paragraph_hashes: Counter[int] = field(default_factory=Counter)
    language_tagged: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    pii_tagged: int = 0
    pii_documents: int = 0
    pii_spans: Counter[str] = field(default_factory=Counter)

    def add(self, other: SourceCounts) -> None:
        """Add ``other``'s counts (its documents come after these); n-gram counters that this one lacks are
        taken over from ``other`` rather than copied."""
        for name in ("documents", "bytes", "characters", "words", "tokens", "language_tagged", "pii_tagged",
                     "pii_documents"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.character_lengths.extend(other.character_lengths)
        self.token_lengths.extend(other.token_lengths)
        for n, counter in other.ngrams.items():
            if n in self.ngrams:
                self.ngrams[n].update(counter)
            else:
                self.ngrams[n] = counter
        self.document_hashes.update(other.document_hashes)
        self.paragraph_hashes.update(other.paragraph_hashes)
        self.languages.update(other.languages)
        self.pii_spans.update(other.pii_spans)


@dataclass
class FileCounts:
    """The counts of one file (or of several, added in order), per source."""

    records: int = 0
    quarantined: int = 0
    sources: dict[str, SourceCounts] = field(default_factory=dict)

    def add(self, other: FileCounts) -> None:
        """Add the counts of a later file."""
        self.records += other.records
        self.quarantined += other.quarantined
        for name, counts in other.sources.items():
            if name in self.sources:
                self.sources[name].add(counts)
            else:
                self.sources[name] = counts


@dataclass(frozen=True)
class Plan:
    """What to count: the n-gram sizes, how paragraphs are cut, the tokenizer and where attributes live."""

    ngram_sizes: tuple[int, ...]
    paragraphs: str
    tokenizer: str | None
    layout: Layout | None


@functools.cache
def _token_counter(spec: str) -> Callable[[list[str]], list[int]]:
    """Token counts of a batch of texts; the backend's ``encode_batch_fast`` (no character offsets, about 1.5x
    faster) when the ``tokenizers`` release has it."""
    tokenizer = load_tokenizer(spec)
    fast = getattr(tokenizer.backend, "encode_batch_fast", None)
    if fast is None:
        return lambda texts: [len(ids) for ids in tokenizer.encode_batch(texts)]
    return lambda texts: [len(e.ids) for e in fast(texts, add_special_tokens=False)]


def _count_document(counts: SourceCounts, document: Document, plan: Plan,
                    attributes: dict[str, dict[str, list[list[object]]] | None]) -> None:
    text = document.text
    counts.documents += 1
    counts.bytes += len(text.encode("utf-8"))
    counts.characters += len(text)
    counts.character_lengths.append(len(text))
    found = words(text)
    counts.words += len(found)
    for n in plan.ngram_sizes:
        counts.ngrams.setdefault(n, Counter()).update(ngrams(found, n))
    counts.document_hashes[text_hash(text)] += 1
    counts.paragraph_hashes.update(map(text_hash, paragraphs(text, plan.paragraphs)))
    language = attributes["language"]
    if language is not None:
        counts.language_tagged += 1
        counts.languages[language_of(language)] += 1
    pii = attributes["pii"]
    if pii is not None:
        counts.pii_tagged += 1
        spans = pii_spans_of(pii)
        counts.pii_spans.update(spans)
        counts.pii_documents += any(spans.values())


def count_part(task: tuple[Part, int], plan: Plan) -> FileCounts:
    """Count every document of a part of a file (the whole file, or a part with the documents of the file
    before it: :func:`~olmo_data.parallel.parts_with_documents_before`); lines that are not documents are counted
    as quarantined. The parts' counts, added in order, are the file's."""
    part, before = task
    file = part.file
    result = FileCounts()
    count_tokens = _token_counter(plan.tokenizer) if plan.tokenizer else None
    batch: list[tuple[SourceCounts, str]] = []

    def flush() -> None:
        assert count_tokens is not None
        for (counts, _), n in zip(batch, count_tokens([text for _, text in batch]), strict=True):
            counts.tokens += n
            counts.token_lengths.append(n)
        batch.clear()

    with AttributeRows(plan.layout, file, skip=before, last=part.last) as rows:
        for item in counted(part.records()):
            result.records += 1
            if isinstance(item, Quarantined):
                result.quarantined += 1
                continue
            counts = result.sources.setdefault(source_name(item), SourceCounts())
            _count_document(counts, item, plan, rows.next(item.id))
            if count_tokens is not None:
                batch.append((counts, item.text))
                if len(batch) >= TOKENIZER_BATCH:
                    flush()
    if batch:
        flush()
    return result
