"""From exact counts to the JSON that ``stats.json`` holds: sizes, length summaries, top n-grams,
duplicate rates, languages and PII, per source and overall.

Every list is ordered by a total order (counts descending, then text), so that the report depends only on the
documents and the options.
"""

from __future__ import annotations

import heapq
import math
from array import array
from collections import Counter
from typing import Any

from olmo_data.analysis.counts import SourceCounts

__all__ = ["duplicates", "length_summary", "source_report", "top"]


def top(counter: Counter[str], k: int) -> list[list[Any]]:
    """The ``k`` most frequent entries as ``[text, count]``, ties broken by text."""
    return [[text, count] for text, count in heapq.nsmallest(k, counter.items(), key=lambda kv: (-kv[1], kv[0]))]


def length_summary(lengths: array[int]) -> dict[str, Any] | None:
    """Minimum, maximum, mean, nearest-rank percentiles and a power-of-two histogram of ``lengths``.

    The histogram lists ``[low, high, documents]`` for each non-empty bucket ``low <= length < high``, with
    buckets ``[0, 1)``, ``[1, 2)``, ``[2, 4)``, ``[4, 8)`` ...
    """
    if not lengths:
        return None
    values = sorted(lengths)
    n = len(values)

    def rank(p: float) -> int:
        return values[min(n - 1, max(0, math.ceil(p / 100 * n) - 1))]

    buckets = Counter(v.bit_length() for v in values)
    histogram = [[0 if b == 0 else 1 << (b - 1), 1 << b, buckets[b]] for b in sorted(buckets)]
    return {"min": values[0], "max": values[-1], "mean": round(sum(values) / n, 2), "p10": rank(10),
            "median": rank(50), "p90": rank(90), "p99": rank(99), "histogram": histogram}


def duplicates(hashes: Counter[int]) -> dict[str, Any]:
    """Exact duplicates among hashed texts: ``total`` texts, ``unique`` ones, ``duplicates`` (copies beyond the
    first of each), their ``rate`` (duplicates / total) and ``repeated`` (distinct texts seen more than once)."""
    total = sum(hashes.values())
    unique = len(hashes)
    return {"total": total, "unique": unique, "duplicates": total - unique,
            "rate": round((total - unique) / total, 6) if total else 0.0,
            "repeated": sum(1 for c in hashes.values() if c > 1)}


def _status(tagged: int, documents: int) -> str:
    if tagged == 0:
        return "not tagged"
    return "tagged" if tagged == documents else "partly tagged"


def _languages(counts: SourceCounts) -> dict[str, Any]:
    ordered = sorted(counts.languages.items(), key=lambda kv: (-kv[1], kv[0]))
    return {"status": _status(counts.language_tagged, counts.documents), "documents": counts.language_tagged,
            "counts": dict(ordered)}


def _pii(counts: SourceCounts) -> dict[str, Any]:
    return {"status": _status(counts.pii_tagged, counts.documents), "documents": counts.pii_tagged,
            "documents_with_pii": counts.pii_documents, "spans": dict(sorted(counts.pii_spans.items()))}


def source_report(counts: SourceCounts, *, tokenized: bool, ngram_sizes: tuple[int, ...], top_k: int) \
        -> dict[str, Any]:
    """The ``stats.json`` entry of one source (or of all of them together)."""
    return {"documents": counts.documents, "bytes": counts.bytes, "characters": counts.characters,
            "words": counts.words, "tokens": counts.tokens if tokenized else None,
            "lengths": {"characters": length_summary(counts.character_lengths),
                        "tokens": length_summary(counts.token_lengths) if tokenized else None},
            "ngrams": {str(n): top(counts.ngrams.get(n, Counter()), top_k) for n in ngram_sizes},
            "duplicates": {"documents": duplicates(counts.document_hashes),
                           "paragraphs": duplicates(counts.paragraph_hashes)},
            "languages": _languages(counts), "pii": _pii(counts)}
