"""What the dedupers compare: normalized text, paragraphs, digests and word shingles.

Every function here depends only on its input, so the results are the same in any process and on any run.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import threading
import unicodedata
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import xxhash

from olmo_core.errors import ConfigError

__all__ = ["HASHES", "NORMALIZATIONS", "CheckedBatch", "check_choice", "checked_batch", "checked_paragraphs",
           "digest", "mix64", "normalize", "paragraph_digest", "paragraphs", "shingle_hashes", "words"]

NORMALIZATIONS = ("none", "whitespace", "simple")
"""``none``: the text as it is; ``whitespace``: runs of whitespace as one space, ends stripped; ``simple``
(datatrove's ``simplify_text``): also lowercased, accents and punctuation removed, every digit as ``0``."""
HASHES = ("sha1", "blake2b")
"""Text digests: SHA-1 (160 bits) or BLAKE2b (128 bits)."""

_COMBINING = re.compile(r"[\u0300-\u036f]+")
_PUNCTUATION = re.compile(r"[^\w\s]+|_+")
_DIGIT = re.compile(r"\d")


def check_choice(value: str, choices: tuple[str, ...], where: str) -> None:
    """Raise a :class:`ConfigError` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"{where}={value!r} is not one of {', '.join(choices)}")


def normalize(text: str, how: str) -> str:
    """``text`` normalized as ``how`` (one of :data:`NORMALIZATIONS`) says."""
    if how == "none":
        return text
    if how == "simple":
        text = text.lower()
        if not text.isascii():
            text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
        text = _PUNCTUATION.sub(" ", _DIGIT.sub("0", text))
    return " ".join(text.split())


def words(text: str, how: str) -> list[str]:
    """The words of ``text`` after normalization: maximal runs of non-whitespace characters."""
    return normalize(text, how).split()


def digest(text: str, algorithm: str) -> bytes:
    """The SHA-1 or BLAKE2b-128 digest of ``text`` in UTF-8."""
    data = text.encode("utf-8", "surrogatepass")
    if algorithm == "sha1":
        return hashlib.sha1(data, usedforsecurity=False).digest()
    return hashlib.blake2b(data, digest_size=16).digest()


def paragraph_digest(text: str) -> bytes:
    """The 16-byte XXH3-128 digest of ``text`` in UTF-8: what a Bloom filter of paragraphs holds."""
    return xxhash.xxh3_128_digest(text.encode("utf-8", "surrogatepass"))


def checked_paragraphs(text: str, how: str, min_chars: int) -> tuple[list[int], bytes]:
    """The paragraphs of ``text`` (see :func:`paragraphs`) that a paragraph deduper checks: those whose normalized
    line (``how``, without its ``\\n``) is not blank and has at least ``min_chars`` characters.

    Returns their spans flattened (``[start0, end0, start1, end1, ...]``, character offsets, ``\\n`` included) and
    their :func:`paragraph_digest` digests joined, 16 bytes each, in order.
    """
    lines = text.split("\n")
    checked = lines if how == "none" else [normalize(line, how) for line in lines]
    starts = [0, *itertools.accumulate(len(line) + 1 for line in lines)]
    starts[-1] -= 1  # the end of the text: no "\n" after the last line
    chosen = [i for i, line in enumerate(checked) if len(line) >= min_chars and line and not line.isspace()]
    spans = [offset for i in chosen for offset in (starts[i], starts[i + 1])]
    if how == "none":
        encoded = text.encode("utf-8", "surrogatepass").split(b"\n")
        return spans, b"".join([xxhash.xxh3_128_digest(encoded[i]) for i in chosen])
    return spans, b"".join([paragraph_digest(checked[i]) for i in chosen])


class CheckedBatch(NamedTuple):
    """The checked paragraphs of a batch of texts (:func:`checked_batch`)."""

    spans: np.ndarray
    """``(n, 2)`` int64: each paragraph's ``start, end`` in its own text, in characters."""
    digests: bytes
    """Their digests, 16 bytes each, in order."""
    counts: np.ndarray
    """int64: the paragraphs of each text."""


_NOT_BLANK = np.array([c < 128 and not chr(c).isspace() for c in range(256)])
"""Bytes that make a line not blank: ASCII characters that ``str.isspace`` rejects (the others leave it to decoding)."""


_SCRATCH = threading.local()
_SCRATCH_LIMIT = 1 << 22


def _flags(size: int) -> np.ndarray:
    """A bool array of ``size`` to write into, reused from batch to batch by this thread up to 4 MiB: a fresh one
    for each batch would be fresh pages each time, since workers hand freed memory back after every file."""
    if size > _SCRATCH_LIMIT:
        return np.empty(size, dtype=bool)
    held: np.ndarray | None = getattr(_SCRATCH, "flags", None)
    if held is None or len(held) < size:
        held = _SCRATCH.flags = np.empty(max(size, 1 << 16), dtype=bool)
    return held[:size]


def checked_batch(texts: list[str], min_chars: int) -> CheckedBatch:
    """:func:`checked_paragraphs` of each of ``texts`` with ``how="none"``, computed for the whole batch at once.

    The texts are encoded and joined by ``\\n``, so that every line of every text is a line of the joined bytes: the
    newlines are found by numpy; a line's characters are its bytes less its UTF-8 continuation bytes; a line is
    blank when it has no character but whitespace (``str.isspace``), which only a line that neither starts nor
    ends with an ASCII non-space character is decoded to tell; each checked line is hashed in place.
    """
    if not texts:
        return CheckedBatch(np.zeros((0, 2), dtype=np.int64), b"", np.zeros(0, dtype=np.int64))
    encoded = [text.encode("utf-8", "surrogatepass") for text in texts]
    joined = b"\n".join(encoded)
    data = np.frombuffer(joined, dtype=np.uint8)
    newlines = np.flatnonzero(np.equal(data, 10, out=_flags(len(data))))
    starts = np.concatenate([[0], newlines + 1])  # of each line, in bytes, the "\n" excluded
    ends = np.concatenate([newlines, [len(joined)]])
    sizes = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    text_starts = np.concatenate([[0], np.cumsum(sizes[:-1] + 1)])
    first = np.searchsorted(starts, text_starts)  # each text's first line
    owner = np.repeat(np.arange(len(texts)), np.diff(np.append(first, len(starts))))
    if len(joined) == sum(map(len, texts)) + len(texts) - 1:  # ASCII: a byte per character
        char_starts, char_ends, text_offsets = starts, ends, text_starts
    else:
        continuation = np.flatnonzero(np.less(data.view(np.int8), -64, out=_flags(len(data))))  # bytes 0x80-0xbf
        char_starts, char_ends, text_offsets = (at - np.searchsorted(continuation, at)
                                                for at in (starts, ends, text_starts))
    chosen = np.flatnonzero(char_ends - char_starts >= max(min_chars, 1))
    unsure = chosen[~(_NOT_BLANK[data[starts[chosen]]] | _NOT_BLANK[data[ends[chosen] - 1]])]
    if len(unsure):
        blank = [joined[start:end].decode("utf-8", "surrogatepass").isspace()
                 for start, end in zip(starts[unsure].tolist(), ends[unsure].tolist(), strict=True)]
        chosen = np.setdiff1d(chosen, unsure[np.array(blank, dtype=bool)], assume_unique=True)
    last = np.zeros(len(starts), dtype=bool)  # a text's last line: no "\n" of its own
    last[first[1:] - 1] = True
    last[-1:] = True
    spans = np.empty((len(chosen), 2), dtype=np.int64)
    spans[:, 0] = char_starts[chosen] - text_offsets[owner[chosen]]
    spans[:, 1] = char_ends[chosen] - text_offsets[owner[chosen]] + ~last[chosen]
    lines = map(memoryview(joined).__getitem__, map(slice, starts[chosen].tolist(), ends[chosen].tolist()))
    counts = np.bincount(owner[chosen], minlength=len(texts)).astype(np.int64)
    return CheckedBatch(spans, b"".join(map(xxhash.xxh3_128_digest, lines)), counts)


def paragraphs(text: str) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each paragraph of ``text``: a line together with the ``\\n`` that ends it, so that
    removing a paragraph's span leaves no empty line behind (Dolma's ``paragraph_separator: "\\n"``)."""
    start, size = 0, len(text)
    while start < size:
        newline = text.find("\n", start)
        end = size if newline < 0 else newline + 1
        yield start, end
        start = end


@functools.lru_cache(maxsize=1 << 18)
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def mix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finalizer: spreads every input bit over the whole 64-bit output (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    mixed: np.ndarray = x ^ (x >> np.uint64(31))
    return mixed


@functools.lru_cache(maxsize=64)
def _weights(width: int) -> np.ndarray:
    return mix64(np.arange(1, width + 1, dtype=np.uint64)) | np.uint64(1)


def shingle_hashes(tokens: list[str], size: int) -> np.ndarray:
    """The sorted, distinct 64-bit hashes of the word ``size``-grams of ``tokens``.

    A shingle's hash mixes a weighted sum of its words' BLAKE2b-64 hashes, each position with its own odd
    weight, so that word order counts. Fewer than ``size`` words make one shingle of all of them; no words
    make none.
    """
    if not tokens:
        return np.zeros(0, dtype=np.uint64)
    hashed = np.fromiter(map(_word_hash, tokens), dtype=np.uint64, count=len(tokens))
    width = min(size, len(tokens))
    count = len(tokens) - width + 1
    weights = _weights(width)
    combined = np.zeros(count, dtype=np.uint64)
    for position in range(width):
        combined += hashed[position:position + count] * weights[position]
    return np.unique(mix64(combined))
