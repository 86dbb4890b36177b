"""Obscene and offensive words, by the method C4 and Dolma use: the LDNOOBW word lists.

The "List of Dirty, Naughty, Obscene, and Otherwise Bad Words" (CC-BY-4.0) is the list behind C4's
bad-words filter (Raffel et al. 2020) and Dolma's ``c4`` tagger (``has_naughty_word``). It is read from its
npm release, ``naughty-words@1.2.0``, fetched once and verified against a pinned sha256, so tagging works
offline afterwards. Matching is case-insensitive on whole words and phrases.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field

from olmo_core.assets import PackageArchive, read_member
from olmo_core.documents import Document

from olmo_data.taggers.base import Attributes

__all__ = ["LDNOOBW", "BadWordsConfig", "BadWordsTagger", "word_list"]

LDNOOBW = PackageArchive(registry="npm", name="naughty-words", version="1.2.0", license="CC-BY-4.0",
                         sha256="c34b05e10a97ec7b9e0c3dd91d09888187c0f08d0812eaea79679795585b217e")


@dataclass(kw_only=True)
class BadWordsConfig:
    """Options of the bad-words tagger."""

    languages: list[str] = field(default_factory=lambda: ["en"])
    """The LDNOOBW lists to use (en, fr, de, es ... as named in the release)."""


@functools.cache
def word_list(language: str) -> tuple[str, ...]:
    """The LDNOOBW entries of ``language``."""
    return tuple(json.loads(read_member(LDNOOBW, f"{language}.json")))


WORD = re.compile(r"\w+")
PLAIN = re.compile(r"\w+( \w+)*")


@dataclass(frozen=True)
class _Matcher:
    """Whole-word matching of the list: a set lookup per word of the text, phrases checked only where their
    first word occurs, and a regular expression for the few entries that are not plain words."""

    entries: tuple[str, ...]
    words: frozenset[str]
    phrases: dict[str, tuple[str, ...]]
    other: re.Pattern[str] | None

    def spans(self, text: str) -> list[tuple[int, int]]:
        lower = text.lower()
        if len(lower) != len(text):  # lowercasing changed offsets (rare letters): match case-insensitively
            return [m.span() for m in _fallback(self.entries).finditer(text)]
        found: list[tuple[int, int]] = []
        cursor = 0
        for match in WORD.finditer(lower):
            start = match.start()
            if start < cursor:
                continue
            end = self._match_at(lower, start, match.group())
            if end:
                found.append((start, end))
                cursor = end
        if self.other is not None:
            taken = found[:]
            found += [m.span() for m in self.other.finditer(lower)
                      if not any(s < m.end() and m.start() < e for s, e in taken)]
            found.sort()
        return found

    def _match_at(self, lower: str, start: int, word: str) -> int:
        for phrase in self.phrases.get(word, ()):
            end = start + len(phrase)
            if lower.startswith(phrase, start) and (end == len(lower) or not _is_word(lower[end])):
                return end
        return start + len(word) if word in self.words else 0


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


@functools.cache
def _matcher(languages: tuple[str, ...]) -> _Matcher:
    entries = sorted({w.lower() for lang in languages for w in word_list(lang) if w.strip()}, key=len, reverse=True)
    plain = [e for e in entries if PLAIN.fullmatch(e)]
    phrases: dict[str, list[str]] = {}
    for entry in plain:
        if " " in entry:
            phrases.setdefault(entry.split(" ", 1)[0], []).append(entry)
    other = [e for e in entries if not PLAIN.fullmatch(e)]
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(e) for e in other) + r")(?!\w)") if other else None
    return _Matcher(tuple(entries), frozenset(e for e in plain if " " not in e),
                    {k: tuple(v) for k, v in phrases.items()}, pattern)


@functools.cache
def _fallback(entries: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(e) for e in entries) + r")(?!\w)", re.IGNORECASE)


class BadWordsTagger:
    """Spans ``bad_word`` over each match, ``count`` of matches and ``has_bad_word`` (0 or 1)."""

    def __init__(self, config: BadWordsConfig) -> None:
        self.matcher = _matcher(tuple(config.languages))

    def tag(self, document: Document) -> Attributes:
        spans: list[list[float | int | str]] = [[s, e, 1.0] for s, e in self.matcher.spans(document.text)]
        end = len(document.text)
        return {"bad_word": spans, "count": [[0, end, len(spans)]], "has_bad_word": [[0, end, int(bool(spans))]]}
