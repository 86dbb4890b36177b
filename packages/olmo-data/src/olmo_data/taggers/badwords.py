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


@functools.cache
def _pattern(languages: tuple[str, ...]) -> re.Pattern[str]:
    entries = sorted({w.lower() for lang in languages for w in word_list(lang) if w.strip()}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in entries) + r")(?!\w)", re.IGNORECASE)


class BadWordsTagger:
    """Spans ``bad_word`` over each match, ``count`` of matches and ``has_bad_word`` (0 or 1)."""

    def __init__(self, config: BadWordsConfig) -> None:
        self.pattern = _pattern(tuple(config.languages))

    def tag(self, document: Document) -> Attributes:
        spans: list[list[float | int | str]] = [[m.start(), m.end(), 1.0] for m in self.pattern.finditer(document.text)]
        end = len(document.text)
        return {"bad_word": spans, "count": [[0, end, len(spans)]], "has_bad_word": [[0, end, int(bool(spans))]]}
