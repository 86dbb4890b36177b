"""Gopher's quality and repetition rules (Rae et al. 2021, appendix A), as datatrove 0.10.1 defines them.

Both taggers follow datatrove's ``GopherQualityFilter`` and ``GopherRepetitionFilter`` rule by rule, with
their default thresholds, verdict names and order; words come from :func:`olmo_data.taggers.words.split_words`
(spaCy-like: punctuation is split off) where datatrove uses spaCy itself. Where dolma defines a rule
differently (whitespace words, median word length, ``*`` bullets, only ``…`` as an ellipsis, stop-word
occurrences, duplicates counted with their first occurrence) datatrove's definition is the one used here.
Every value and verdict is recorded, not only the first failure (see :mod:`olmo_data.taggers.rules`).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from olmo_core.config import non_negative
from olmo_core.documents import Document

from olmo_data.taggers.base import Attributes, SizeLimit, line_windows
from olmo_data.taggers.rules import Check, check_attributes, ratio
from olmo_data.taggers.words import PieceCache, words_of

__all__ = ["GopherQualityConfig", "GopherQualityTagger", "GopherRepetitionConfig", "GopherRepetitionTagger"]

STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
SYMBOLS = frozenset(
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~—–”“„’´«»…►━、，。；：？！（）％．～〈〉《》「」【】∶１"
    "։؟۔܀܁܂߹।॥၊။።፧፨᙮᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗｡"
    + "".join(map(chr, [*range(9), *range(11, 32), *range(127, 160)]))
)
"""Characters that make a word a "symbol" when it has nothing else: datatrove's punctuation set (ASCII
punctuation, common CJK and typographic marks, control characters and sentence-final marks of other
scripts; this list holds the common ones of the latter)."""


def _stats_of_word(word: str) -> int:
    """``is not a symbol + has a letter << 1 + length << 2``: packed, so that the statistics of all the words
    of a text come out of the cache as one array."""
    if word.isalpha():  # the common case: no letter is in SYMBOLS
        return 3 | len(word) << 2
    return int(not SYMBOLS.issuperset(word)) | int(any(map(str.isalpha, word))) << 1 | len(word) << 2


_word_stats = PieceCache(_stats_of_word).__getitem__
""":func:`_stats_of_word`, remembered."""


@functools.lru_cache(maxsize=4)
def word_table(text: str) -> tuple[tuple[str, ...], np.ndarray]:
    """The words of ``text`` (:func:`~olmo_data.taggers.words.words_of`) and their packed statistics
    (:func:`_stats_of_word`), remembered for the last few texts: the quality tagger sums the statistics and
    the repetition tagger takes the words' lengths from them, one pass over the words for both."""
    words = words_of(text)
    return words, np.fromiter(map(_word_stats, words), dtype=np.int64, count=len(words))


def _word_totals(stats: np.ndarray) -> tuple[int, int, int]:
    """Non-symbol words, words with a letter and the characters of the non-symbol words, from the words'
    packed statistics (:func:`word_table`)."""
    not_symbol = stats & 1
    return int(np.count_nonzero(not_symbol)), int(np.count_nonzero(stats & 2)), int(np.dot(stats >> 2, not_symbol))


@dataclass(kw_only=True)
class GopherQualityConfig:
    """Thresholds of the Gopher quality rules; datatrove's defaults. ``None`` (or 0) turns a rule off."""

    min_doc_words: int | None = non_negative(50)
    """Fewer words (punctuation-only words not counted) fail ``gopher_short_doc``."""
    max_doc_words: int | None = non_negative(100_000)
    """More words fail ``gopher_long_doc``."""
    min_avg_word_length: float | None = 3
    """A lower mean word length fails ``gopher_below_avg_threshold``."""
    max_avg_word_length: float | None = 10
    """A higher mean word length fails ``gopher_above_avg_threshold``."""
    max_symbol_word_ratio: float | None = 0.1
    """More ``#`` (or ``...``/``…``) per word, punctuation included, fail ``gopher_too_many_hashes``
    (``gopher_too_many_ellipsis``)."""
    max_bullet_lines_ratio: float | None = 0.9
    """A higher share of lines starting with ``•`` or ``-`` fails ``gopher_too_many_bullets``."""
    max_ellipsis_lines_ratio: float | None = 0.3
    """A higher share of lines ending with ``...`` or ``…`` fails ``gopher_too_many_end_ellipsis``."""
    min_alpha_words_ratio: float | None = 0.8
    """A lower share of words with a letter fails ``gopher_below_alpha_threshold`` (datatrove's
    ``max_non_alpha_words_ratio``)."""
    min_stop_words: int | None = non_negative(2)
    """Fewer distinct stop words (case-sensitive) fail ``gopher_enough_stop_words``."""
    stop_words: list[str] = field(default_factory=lambda: list(STOP_WORDS))
    """The stop words."""


class GopherQualityTagger:
    """Gopher's quality rules. Attributes (each with ``<name>_pass``), then ``keep`` and ``reason``:

    ``word_count`` (non-symbol words), ``mean_word_length`` (of those), ``hash_ratio`` and ``ellipsis_ratio``
    (occurrences of ``#``, and of ``...`` plus ``…``, per word, punctuation words included),
    ``bullet_lines_ratio`` and ``ellipsis_lines_ratio`` (over ``str.splitlines()``, blank lines included),
    ``alpha_words_ratio`` (words with a letter, punctuation words included) and ``stop_word_count``.
    """

    def __init__(self, config: GopherQualityConfig | None = None) -> None:
        self.config = config or GopherQualityConfig()
        self.stop_words = frozenset(self.config.stop_words)

    def tag(self, document: Document) -> Attributes:
        """Values and verdicts of every quality rule for ``document``."""
        c = self.config
        text = document.text
        n: Counter[str] = Counter()
        seen_stop_words: set[str] = set()
        for piece in line_windows(text):  # every value is a sum (or a union) over lines and words
            words, stats = word_table(piece)
            counted, alpha, length = _word_totals(stats)
            lines = piece.splitlines()
            n.update(words=len(words), counted=counted, length=length, alpha=alpha, lines=len(lines),
                     hashes=piece.count("#"),
                     ellipses=piece.count("...") + piece.count("…"),
                     bullets=sum(1 for line in lines if line.lstrip().startswith(("•", "-"))),
                     end_ellipsis=sum(1 for line in lines if line.rstrip().endswith(("...", "…"))))
            seen_stop_words.update(self.stop_words.intersection(words))
        n_words, counted, bullets, end_ellipsis, n_lines = (n["words"], n["counted"], n["bullets"], n["end_ellipsis"],
                                                            n["lines"])
        mean_length = ratio(n["length"], counted)
        too_short = bool(c.min_doc_words and counted < c.min_doc_words)
        short_words = bool(c.min_avg_word_length and counted and mean_length < c.min_avg_word_length)
        symbols = ratio(n["hashes"], n_words), ratio(n["ellipses"], n_words)
        alpha = ratio(n["alpha"], n_words)
        stop_words = len(seen_stop_words)
        return check_attributes(len(text), [
            Check("word_count", counted, not too_short and not (c.max_doc_words and counted > c.max_doc_words),
                  "gopher_short_doc" if too_short else "gopher_long_doc"),
            Check("mean_word_length", mean_length,
                  not short_words and not (c.max_avg_word_length and mean_length > c.max_avg_word_length),
                  "gopher_below_avg_threshold" if short_words else "gopher_above_avg_threshold"),
            Check("hash_ratio", symbols[0], not (c.max_symbol_word_ratio and symbols[0] > c.max_symbol_word_ratio),
                  "gopher_too_many_hashes"),
            Check("ellipsis_ratio", symbols[1],
                  not (c.max_symbol_word_ratio and symbols[1] > c.max_symbol_word_ratio), "gopher_too_many_ellipsis"),
            Check("bullet_lines_ratio", ratio(bullets, n_lines),
                  not (c.max_bullet_lines_ratio and ratio(bullets, n_lines) > c.max_bullet_lines_ratio),
                  "gopher_too_many_bullets"),
            Check("ellipsis_lines_ratio", ratio(end_ellipsis, n_lines),
                  not (c.max_ellipsis_lines_ratio and ratio(end_ellipsis, n_lines) > c.max_ellipsis_lines_ratio),
                  "gopher_too_many_end_ellipsis"),
            Check("alpha_words_ratio", alpha, not (c.min_alpha_words_ratio and alpha < c.min_alpha_words_ratio),
                  "gopher_below_alpha_threshold"),
            Check("stop_word_count", stop_words, not (c.min_stop_words and stop_words < c.min_stop_words),
                  "gopher_enough_stop_words"),
        ])


@dataclass(kw_only=True)
class GopherRepetitionConfig(SizeLimit):
    """Thresholds of the Gopher repetition rules (a fraction above fails); datatrove's defaults, which are
    Gopher's table A1. ``None`` (or 0) turns a rule off. A repeat may be anywhere in the text, so the rules
    need all of it at once: see ``max_document_bytes``."""

    dup_para_frac: float | None = 0.3
    """Share of paragraphs (split at blank lines) that repeat an earlier one: ``dup_para_frac``."""
    dup_para_char_frac: float | None = 0.2
    """Characters in such paragraphs over the text's length: ``dup_para_char_frac``."""
    dup_line_frac: float | None = 0.3
    """Share of lines (split at runs of ``\\n``) that repeat an earlier one: ``dup_line_frac``."""
    dup_line_char_frac: float | None = 0.2
    """Characters in such lines over the text's length: ``dup_line_char_frac``."""
    top_2_gram_frac: float | None = 0.20
    """Characters of the most frequent word 2-gram times its count, over the text's length: ``top_2_gram``."""
    top_3_gram_frac: float | None = 0.18
    """As above for 3-grams: ``top_3_gram``."""
    top_4_gram_frac: float | None = 0.16
    """As above for 4-grams: ``top_4_gram``."""
    dup_5_gram_frac: float | None = 0.15
    """Characters in repeated word 5-grams over the text's length: ``duplicated_5_n_grams``."""
    dup_6_gram_frac: float | None = 0.14
    """As above for 6-grams."""
    dup_7_gram_frac: float | None = 0.13
    """As above for 7-grams."""
    dup_8_gram_frac: float | None = 0.12
    """As above for 8-grams."""
    dup_9_gram_frac: float | None = 0.11
    """As above for 9-grams."""
    dup_10_gram_frac: float | None = 0.10
    """As above for 10-grams."""


TOP_NGRAM_SIZES = (2, 3, 4)
DUPLICATE_NGRAM_SIZES = (5, 6, 7, 8, 9, 10)
_PARAGRAPH_BREAK = re.compile(r"\n{2,}")
_LINE_BREAK = re.compile(r"\n+")


def _paragraphs(text: str) -> list[str]:
    """The stripped text split at runs of two or more line breaks (``str.split`` when no run is longer)."""
    text = text.strip()
    return _PARAGRAPH_BREAK.split(text) if "\n\n\n" in text else text.split("\n\n")


def _lines(text: str) -> list[str]:
    """The text split at runs of line breaks (``str.split`` when no line is empty)."""
    return _LINE_BREAK.split(text) if "\n\n" in text else text.split("\n")


def _duplicates(items: list[str]) -> tuple[int, int]:
    """How many items repeat an earlier one, and their characters (first occurrences not counted)."""
    unique = set(items)
    return len(items) - len(unique), sum(map(len, items)) - sum(map(len, unique))


def _ngrams(words: Sequence[str], n: int) -> zip[tuple[str, ...]]:
    return zip(*(words[i:] for i in range(n)))


def top_ngram_chars(words: Sequence[str], n: int) -> int:
    """Characters of the most frequent n-gram (words joined by spaces) times its count; the first such n-gram
    in the text when several tie. 0 when there are fewer than ``n`` words.

    This is the rule's plain definition; the tagger computes the same number with :class:`WordNgrams`."""
    counts = Counter(_ngrams(words, n))
    if not counts:
        return 0
    most = max(counts.values())
    top = next(gram for gram, times in counts.items() if times == most)
    return (sum(map(len, top)) + n - 1) * most


def duplicate_ngram_chars(words: Sequence[str], n: int) -> int:
    """Characters of repeated n-grams (words joined without spaces), scanning left to right: an n-gram seen
    before adds its length and the scan jumps past it, so that overlapping repeats count once; an n-gram
    jumped over is not seen.

    This is the rule's plain definition; the tagger computes the same number with :class:`WordNgrams`."""
    return _scan_repeats(lambda i: "".join(words[i:i + n]), n, range(len(words) - n + 1))


def _scan_repeats(gram_at: Callable[[int], str], n: int, positions: Iterable[int]) -> int:
    """:func:`duplicate_ngram_chars` of the n-grams ``gram_at(i)`` (words joined without spaces), visiting only
    ``positions`` (ascending): exact as long as they hold every position whose joined n-gram occurs more than once,
    since the scan steps over any other n-gram one word at a time and no later n-gram can equal it."""
    seen: set[str] = set()
    repeated = resume = 0
    for i in positions:
        if i < resume:
            continue
        gram = gram_at(i)
        if gram in seen:
            repeated += len(gram)
            resume = i + n
        else:
            seen.add(gram)
    return repeated


_BASE = 0x9E3779B97F4A7C15
"""An odd multiplier, hence invertible modulo 2**64, for polynomial fingerprints of strings."""
_INVERSE_BASE = pow(_BASE, -1, 1 << 64)
_TUPLE_BASE = np.uint64(0xD6E8FEB86659FD93)
"""The multiplier of word fingerprints in n-gram fingerprints."""
_SPREAD = np.uint64(0xBF58476D1CE4E5B9)
"""The odd factor ``m`` of every fingerprint (see :class:`WordNgrams`)."""


_CACHED_POWERS = 1 << 20


def _powers(base: int, count: int) -> np.ndarray:
    """``base**0 ... base**(count-1)`` modulo 2**64, from a table kept per base that grows (to the next power of
    two, at most :data:`_CACHED_POWERS`) as longer texts need it, so that short texts never pay for a long table."""
    table = _POWER_TABLES.get(base)
    if table is None or len(table) < count:
        if count > _CACHED_POWERS:
            return _compute_powers(base, count)
        table = _compute_powers(base, max(_FIRST_POWERS, 1 << (count - 1).bit_length()))
        table.flags.writeable = False
        _POWER_TABLES[base] = table
    return table[:count]


_POWER_TABLES: dict[int, np.ndarray] = {}
_FIRST_POWERS = 1 << 12


def _compute_powers(base: int, count: int) -> np.ndarray:
    powers = np.full(count, base, dtype=np.uint64)
    powers[:1] = 1
    return np.cumprod(powers, out=powers)  # numpy's unsigned products wrap around modulo 2**64


class WordNgrams:
    """The word n-grams of one text as 64-bit fingerprints, so that numpy counts and compares them in bulk.

    The duplicate n-gram rules compare n-grams by their words' characters joined without spaces (``ab c``
    equals ``a bc``): the n-gram at ``i`` is the substring ``chars[b[i]:b[i+n]]`` of all words joined, ``b``
    being where each word starts, and its fingerprint is ``m * sum(chars[j] * x**(b[i] - j))`` over that
    substring (modulo 2**64, ``x`` and ``m`` odd: ``m`` spreads every character over all 64 bits, which
    :func:`_recurring` needs): with prefix sums ``F[k] = sum(chars[j] * x**-j for j < k)`` it is
    ``(F[b[i+n]] - F[b[i]]) * x**b[i] * m``, a few vectorized operations per n. The top n-gram rules compare
    n-grams word by word: their fingerprint is the polynomial ``sum(w[i+k] * y**(n-1-k))`` over the words'
    own fingerprints ``w`` (n = 1 above). Equal n-grams have equal fingerprints, but unequal ones may
    collide, so the n-grams that decide a value are compared as strings: :func:`_scan_repeats` at the
    positions whose fingerprint recurs, :func:`_most_frequent` within the most frequent fingerprints (a
    collision there falls back to :func:`top_ngram_chars`).
    """

    def __init__(self, words: Sequence[str], lengths: np.ndarray | None = None) -> None:
        """``lengths``: each word's length, when known (else measured here)."""
        self.words = words
        if lengths is None:
            lengths = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
        self.starts = np.zeros(len(words) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.starts[1:])
        self.joined = "".join(words)
        chars = np.frombuffer(self.joined.encode("utf-32-le"), dtype=np.uint32)
        prefix = np.zeros(len(chars) + 1, dtype=np.uint64)
        np.cumsum(chars * _powers(_INVERSE_BASE, len(chars)), out=prefix[1:])
        self._prefix_at_starts = prefix[self.starts]
        self._scale = _powers(_BASE, len(chars) + 1)[self.starts] * _SPREAD

    def joined_fingerprints(self, n: int) -> np.ndarray:
        """The fingerprint of each n-gram's words joined without spaces."""
        return (self._prefix_at_starts[n:] - self._prefix_at_starts[:-n]) * self._scale[:-n]

    def top_chars(self, sizes: Sequence[int]) -> Iterator[int]:
        """:func:`top_ngram_chars` for each n of ``sizes`` (ascending)."""
        words = self.words
        single = self.joined_fingerprints(1)
        keys, made = single, 1
        for n in sizes:
            if len(words) < n:
                yield 0
                continue
            while made < n:
                keys = keys[:-1] * _TUPLE_BASE + single[made:]
                made += 1
            found = _most_frequent(keys, words, n)
            if found is None:
                yield top_ngram_chars(words, n)
                continue
            most, first = found
            yield (int(self.starts[first + n] - self.starts[first]) + n - 1) * most

    def duplicate_chars(self, sizes: Sequence[int]) -> Iterator[int]:
        """:func:`duplicate_ngram_chars` for each n of ``sizes``."""
        repeats = False
        starts: list[int] = []
        for n in sizes:
            if len(self.words) < n:
                yield 0
                continue
            positions = _recurring(self.joined_fingerprints(n), presort=not repeats)
            repeats = len(positions) > 0
            starts = starts or (self.starts.tolist() if repeats else [])
            yield _scan_repeats(functools.partial(_slice_of, self.joined, starts, n), n, positions.tolist())


def _slice_of(joined: str, starts: list[int], n: int, i: int) -> str:
    """The n-gram at word ``i`` as one slice of ``joined`` (all words joined; ``starts``: where each word starts)."""
    return joined[starts[i]:starts[i + n]]


def _most_frequent(keys: np.ndarray, words: Sequence[str], n: int) -> tuple[int, int] | None:
    """The highest count among the n-grams of ``words`` and where the first n-gram with that count first
    occurs, from the n-grams' fingerprints ``keys`` grouped by their upper 32 bits (as in :func:`_recurring`);
    None when different n-grams share one of the largest groups."""
    packed = keys & _UPPER_HALF
    packed |= _indices(len(keys))
    packed.sort()
    upper = packed >> np.uint64(32)
    change = upper[1:] != upper[:-1]
    if change.all():  # all fingerprints differ, so all n-grams do
        return 1, 0
    starts = np.empty(np.count_nonzero(change) + 1, dtype=np.int64)  # where each group starts in ``packed``
    starts[0] = 0
    starts[1:] = change.nonzero()[0]
    starts[1:] += 1
    counts = np.empty_like(starts)
    counts[:-1] = starts[1:] - starts[:-1]
    counts[-1] = len(packed) - starts[-1]
    most = int(counts.max())
    positions = packed & _LOWER_HALF
    tops = starts[counts == most]
    for start in tops.tolist():
        first, *others = positions[start:start + most].tolist()
        if any(words[i:i + n] != words[first:first + n] for i in others):
            return None
    return most, int(positions[tops].min())


def _indices(count: int) -> np.ndarray:
    """``0 ... count-1`` as unsigned 64-bit integers, sliced from a table kept as :func:`_powers` keeps its own."""
    table = _INDICES[0]
    if len(table) < count:
        if count > _CACHED_POWERS:
            return np.arange(count, dtype=np.uint64)
        table = np.arange(max(_FIRST_POWERS, 1 << (count - 1).bit_length()), dtype=np.uint64)
        table.flags.writeable = False
        _INDICES[0] = table
    return table[:count]


_INDICES = [np.zeros(0, dtype=np.uint64)]


def _recurring(values: np.ndarray, presort: bool = True) -> np.ndarray:
    """Positions (ascending) of the values that occur more than once, and rarely a few more: values are
    grouped by their upper 32 bits, sorting ``upper bits | position`` (numpy sorts integers several times
    faster than it argsorts them). With ``presort``, a plain sort first finds the common case of all values
    distinct at less cost (without, for a text known to repeat itself, it would be a second sort)."""
    if presort:
        ordered = np.sort(values)
        if not (ordered[1:] == ordered[:-1]).any():
            return _NO_POSITIONS
    packed = values & _UPPER_HALF
    packed |= _indices(len(values))
    packed.sort()
    upper = packed >> np.uint64(32)
    same = upper[1:] == upper[:-1]
    recurs = np.zeros(len(values), dtype=bool)
    recurs[1:] = same
    recurs[:-1] |= same
    positions = packed[recurs] & _LOWER_HALF
    positions.sort()
    return positions.astype(np.int64)


_NO_POSITIONS = np.zeros(0, dtype=np.int64)
_UPPER_HALF = np.uint64(0xFFFFFFFF00000000)
_LOWER_HALF = np.uint64(0xFFFFFFFF)


_REPETITION_RULES = [("dup_para_frac", "dup_para_frac"), ("dup_para_char_frac", "dup_para_char_frac"),
                     ("dup_line_frac", "dup_line_frac"), ("dup_line_char_frac", "dup_line_char_frac"),
                     *((f"top_{n}_gram_char_frac", f"top_{n}_gram") for n in TOP_NGRAM_SIZES),
                     *((f"dup_{n}_gram_char_frac", f"duplicated_{n}_n_grams") for n in DUPLICATE_NGRAM_SIZES)]
"""Each repetition rule's attribute and reason, in datatrove's order."""


class GopherRepetitionTagger:
    """Gopher's repetition rules. Attributes (each with ``<name>_pass``), then ``keep`` and ``reason``:

    ``dup_para_frac``, ``dup_para_char_frac``, ``dup_line_frac``, ``dup_line_char_frac``,
    ``top_{2,3,4}_gram_char_frac`` and ``dup_{5..10}_gram_char_frac``. Character fractions are over
    ``len(text)``. First comes ``char_count``: an empty text fails with reason ``empty`` (every value 0).
    """

    def __init__(self, config: GopherRepetitionConfig | None = None) -> None:
        self.config = config or GopherRepetitionConfig()

    def tag(self, document: Document) -> Attributes:
        """Values and verdicts of every repetition rule for ``document``."""
        c = self.config
        text = document.text
        length = len(text)
        paragraphs, lines = _paragraphs(text), _lines(text)
        para_dups, para_chars = _duplicates(paragraphs)
        line_dups, line_chars = _duplicates(lines)
        words, stats = word_table(text)
        ngrams = WordNgrams(words, stats >> 2)
        values = [ratio(para_dups, len(paragraphs)), ratio(para_chars, length), ratio(line_dups, len(lines)),
                  ratio(line_chars, length), *(ratio(chars, length) for chars in ngrams.top_chars(TOP_NGRAM_SIZES)),
                  *(ratio(chars, length) for chars in ngrams.duplicate_chars(DUPLICATE_NGRAM_SIZES))]
        thresholds = [c.dup_para_frac, c.dup_para_char_frac, c.dup_line_frac, c.dup_line_char_frac,
                      c.top_2_gram_frac, c.top_3_gram_frac, c.top_4_gram_frac, c.dup_5_gram_frac, c.dup_6_gram_frac,
                      c.dup_7_gram_frac, c.dup_8_gram_frac, c.dup_9_gram_frac, c.dup_10_gram_frac]
        checks = [Check("char_count", length, length > 0, "empty")]
        checks += [Check(name, value, not (limit and value > limit), reason)
                   for (name, reason), value, limit in zip(_REPETITION_RULES, values, thresholds, strict=True)]
        return check_attributes(length, checks)
