"""Counting a query's occurrences in documents, per source, with an example snippet of each match.

Occurrences are non-overlapping matches scanned left to right (as :meth:`str.count` counts). Without case
sensitivity, letters match regardless of case (Unicode simple case folding); with ``whole_word`` a match may
not touch a word character (letter, digit, underscore) on either side.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from olmo_core.documents import Quarantined, read_documents
from olmo_core.errors import ConfigError

from olmo_data.analysis.counts import source_name

__all__ = ["Matches", "Query", "count_matches", "snippet"]


@dataclass(frozen=True)
class Query:
    """What to look for and how."""

    text: str
    case_sensitive: bool = False
    whole_word: bool = False
    examples: int = 3
    context: int = 60

    def pattern(self) -> re.Pattern[str]:
        """The compiled regular expression that finds the query."""
        if not self.text:
            raise ConfigError("query is empty: give the text to count, e.g. query=whale")
        body = re.escape(self.text)
        if self.whole_word:
            body = rf"(?<!\w){body}(?!\w)"
        return re.compile(body, 0 if self.case_sensitive else re.IGNORECASE)


@dataclass
class Matches:
    """Per source: ``documents`` read, documents ``matching`` and ``occurrences``; the first examples."""

    records: int = 0
    quarantined: int = 0
    documents: Counter[str] = field(default_factory=Counter)
    matching: Counter[str] = field(default_factory=Counter)
    occurrences: Counter[str] = field(default_factory=Counter)
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: Matches, limit: int) -> None:
        """Add a later file's matches, keeping the first ``limit`` examples."""
        self.records += other.records
        self.quarantined += other.quarantined
        for mine, theirs in ((self.documents, other.documents), (self.matching, other.matching),
                             (self.occurrences, other.occurrences)):
            mine.update(theirs)
        self.examples.extend(other.examples[: max(0, limit - len(self.examples))])


def snippet(text: str, start: int, end: int, context: int) -> str:
    """``text`` around ``[start, end)``, ``context`` characters each side, whitespace runs as one space and
    the match in ``[[...]]``; ``...`` marks text left out."""
    left, right = max(0, start - context), min(len(text), end + context)
    flat = " ".join(f"{text[left:start]}[[{text[start:end]}]]{text[end:right]}".split())
    return ("..." if left else "") + flat + ("..." if right < len(text) else "")


def count_matches(file: str, query: Query) -> Matches:
    """The matches of ``query`` in every document of ``file``."""
    pattern = query.pattern()
    result = Matches()
    for item in read_documents(file):
        result.records += 1
        if isinstance(item, Quarantined):
            result.quarantined += 1
            continue
        source = source_name(item)
        result.documents[source] += 1
        first = pattern.search(item.text)
        if first is None:
            continue
        result.matching[source] += 1
        result.occurrences[source] += 1 + sum(1 for _ in pattern.finditer(item.text, first.end()))
        if len(result.examples) < query.examples:
            result.examples.append({"id": item.id, "source": source, "file": file, "offset": first.start(),
                                    "snippet": snippet(item.text, first.start(), first.end(), query.context)})
    return result
