"""The vectorized n-gram statistics of the repetition tagger against the rules' plain definitions."""

from __future__ import annotations

import sysconfig
from pathlib import Path

import numpy as np
import pytest
from olmo_data.taggers import gopher
from olmo_data.taggers.gopher import (
    _TUPLE_BASE,
    DUPLICATE_NGRAM_SIZES,
    TOP_NGRAM_SIZES,
    WordNgrams,
    _most_frequent,
    duplicate_ngram_chars,
    top_ngram_chars,
)
from olmo_data.taggers.words import split_words

from tests.conftest import stdlib_documents
from tests.data.taggers.helpers import python_files


def fast(words: list[str], n: int) -> tuple[int, int]:
    """(top n-gram characters, duplicate n-gram characters) computed by :class:`WordNgrams`."""
    ngrams = WordNgrams(words)
    return next(ngrams.top_chars([n])), next(ngrams.duplicate_chars([n]))


def test_a_jumped_over_ngram_is_not_seen() -> None:
    # 2-grams by position: 0 "ab" new, 1 "ba" new, 2 "ab" seen: +2, jump to 4 (3 "bc" is never visited),
    # 4 "cb" new, 5 "bc" new (its earlier occurrence was jumped over). Counting jumped n-grams would give 4.
    words = ["a", "b", "a", "b", "c", "b", "c"]
    assert duplicate_ngram_chars(words, 2) == 2
    assert fast(words, 2)[1] == 2


def test_overlapping_repeats_count_once() -> None:
    # "x y" repeats at 2 (+2, jump to 4) and at 4 (+2, jump to 6); 3 "y x" is jumped over; 5 is no position.
    words = ["x", "y", "x", "y", "x", "y"]
    assert duplicate_ngram_chars(words, 2) == 4
    assert fast(words, 2)[1] == 4
    # 3-grams: 0 "xyx" new, 1 "yxy" new, 2 "xyx" seen: +3, jump to 5, past the last position (3).
    assert duplicate_ngram_chars(words, 3) == 3
    assert fast(words, 3)[1] == 3


def test_duplicates_compare_words_joined_without_spaces() -> None:
    # "ab c" at 0 and "a bc" at 3 are the same string "abc": a repeat of 3 characters.
    words = ["ab", "c", "x", "a", "bc"]
    assert duplicate_ngram_chars(words, 2) == 3
    assert fast(words, 2)[1] == 3


def test_top_ngrams_compare_words_and_break_ties_by_first_occurrence() -> None:
    # "ab c" and "a bc" are different 2-grams: every 2-gram occurs once, the first ("ab c") counts.
    assert top_ngram_chars(["ab", "c", "x", "a", "bc"], 2) == 4
    assert fast(["ab", "c", "x", "a", "bc"], 2)[0] == 4
    # "ccc d" (at 2 and 4) and "b a" (at 6 and 8) both occur twice; "ccc d" comes first: (3 + 1 + 1) * 2.
    # Ids are first positions, so "b a" has the smaller number: a tie broken by sort order would give 6.
    words = ["x", "b", "ccc", "d", "ccc", "d", "b", "a", "b", "a"]
    assert top_ngram_chars(words, 2) == 10
    assert fast(words, 2)[0] == 10


def test_fewer_words_than_n() -> None:
    for words in ([], ["one"], ["one", "two", "three", "four"]):
        assert fast(words, 5) == (0, 0) == (top_ngram_chars(words, 5), duplicate_ngram_chars(words, 5))


def check_all_sizes(words: list[str]) -> None:
    ngrams = WordNgrams(words)
    assert list(ngrams.top_chars(TOP_NGRAM_SIZES)) == [top_ngram_chars(words, n) for n in TOP_NGRAM_SIZES]
    assert list(ngrams.duplicate_chars(DUPLICATE_NGRAM_SIZES)) == [duplicate_ngram_chars(words, n)
                                                                    for n in DUPLICATE_NGRAM_SIZES]


@pytest.mark.parametrize("record", stdlib_documents(), ids=lambda r: str(r["id"]))
def test_real_prose_agrees_with_the_definitions(record: dict[str, object]) -> None:
    check_all_sizes(split_words(str(record["text"])))


def test_real_code_agrees_with_the_definitions() -> None:
    found = [split_words(text) for _, text in python_files(12)]
    assert any(duplicate_ngram_chars(words, 10) for words in found)  # code repeats itself
    for words in found:
        check_all_sizes(words)


def test_a_long_text_agrees_with_the_definitions() -> None:
    text = "\n".join(path.read_text(encoding="utf-8")
                     for path in sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))[:40])
    words = split_words(text)
    assert len(words) > 1 << 15
    check_all_sizes(words)


def fingerprints(*upper: int) -> np.ndarray:
    """Fingerprints with the given upper 32 bits (the bits that group them) and some lower bits."""
    return (np.array(upper, dtype=np.uint64) << np.uint64(32)) | np.uint64(12345)


def test_different_ngrams_sharing_a_top_fingerprint_are_not_counted_together() -> None:
    # Fingerprints that collide on purpose: "x" and "y" share 5, so its count (2) is not trusted.
    assert _most_frequent(fingerprints(5, 5, 9), ["x", "y", "x"], 1) is None
    # Upper bits alone group: "x" and "y" differ only in lower bits, still not trusted.
    assert _most_frequent(fingerprints(5, 5, 9) + np.array([0, 1, 0], dtype=np.uint64), ["x", "y", "x"], 1) is None
    # The same fingerprints for equal words: "x" occurs twice, first at 0.
    assert _most_frequent(fingerprints(5, 9, 5), ["x", "y", "x"], 1) == (2, 0)
    # Two tied fingerprints, both pure: the first to occur is the one at 1.
    assert _most_frequent(fingerprints(3, 7, 4, 7, 4), ["a", "b", "c", "b", "c"], 1) == (2, 1)
    # 2-grams "a b" (at 0 and 3) and "a c" (at 5) share 8: the second words differ.
    assert _most_frequent(fingerprints(8, 1, 2, 8, 4, 8), ["a", "b", "x", "a", "b", "a", "c"], 2) is None


def test_fingerprints_spread_short_words_over_the_upper_bits() -> None:
    # Without the spreading factor a one-character word's fingerprint is its code point, so "tails (" and
    # "tails ," shared their upper 32 bits and every such group fell back to the plain definition.
    words = split_words(" ".join(str(r["text"]) for r in stdlib_documents()))
    single = WordNgrams(words).joined_fingerprints(1)
    assert len(set((single >> np.uint64(32)).tolist())) == len(set(words))
    keys = single
    for n in TOP_NGRAM_SIZES:
        keys = keys[:-1] * _TUPLE_BASE + single[n - 1:]
        assert _most_frequent(keys, words, n) is not None


def test_power_tables_grow_without_changing_a_power() -> None:
    base = 0x9E3779B97F4A7C15
    gopher._POWER_TABLES.pop(base, None)
    for count in (1, 5, 4096, 4097, 70_000, 3, 200_000):
        powers = gopher._powers(base, count)
        assert len(powers) == count
        assert [int(p) for p in powers[-3:]] == [pow(base, k, 1 << 64) for k in range(max(0, count - 3), count)]
    assert len(gopher._POWER_TABLES[base]) == 1 << 18  # the next power of two above the longest text's need
    assert [int(p) for p in gopher._powers(base, (1 << 20) + 2)[-2:]] == [pow(base, k, 1 << 64)
                                                                         for k in ((1 << 20), (1 << 20) + 1)]
