"""How the analysis reads text: words, n-grams, paragraphs and the hashes that find duplicates.

Words are maximal runs of Unicode word characters (letters, digits, underscore), keeping apostrophes inside a
word (``don't``, ``whale's``), taken from the case-folded text. An n-gram is ``n`` consecutive words of a
document joined by single spaces; punctuation and line breaks between words do not break an n-gram.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator

__all__ = ["PARAGRAPH_MODES", "WORD", "ngrams", "paragraphs", "text_hash", "words"]

WORD = re.compile(r"\w+(?:['’]\w+)*")
"""A word: word characters, with apostrophes allowed between them."""
PARAGRAPH_MODES = ("lines", "blocks")
"""``lines``: every non-blank line is a paragraph (Dolma's paragraph deduplication); ``blocks``: text
between blank lines (as the language tagger scores paragraphs)."""
_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n")


def words(text: str) -> list[str]:
    """The case-folded words of ``text``."""
    return WORD.findall(text.casefold())


def ngrams(tokens: list[str], n: int) -> Iterable[str]:
    """The ``n``-grams of ``tokens``, in order, as space-joined strings."""
    if n == 1:
        return tokens
    return map(" ".join, zip(*(tokens[i:] for i in range(n)), strict=False))


def paragraphs(text: str, mode: str = "lines") -> Iterator[str]:
    """The paragraphs of ``text`` (see :data:`PARAGRAPH_MODES`), stripped of surrounding whitespace."""
    parts = text.split("\n") if mode == "lines" else _BLANK_LINES.split(text)
    for part in parts:
        part = part.strip()
        if part:
            yield part


def text_hash(text: str) -> int:
    """A 64-bit BLAKE2b hash of ``text``: exact-duplicate detection with a collision chance near
    ``n**2 / 2**65`` for ``n`` distinct texts (about 3e-6 for ten million)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
