"""The C4 tagger finds a line's word longer than ``max_word_length`` without splitting the line: it agrees with
splitting on every cut of real text and on words of exactly the limit and one more, whatever the whitespace."""

from __future__ import annotations

import pytest
from olmo_data.taggers.c4 import _has_long_word

from tests.conftest import stdlib_documents


def split_says(text: str, limit: int) -> bool:
    return max(map(len, text.split()), default=0) > limit


@pytest.mark.parametrize("space", [" ", "\t", "\n", "\xa0", "\u2028", "\x1c", "  \u3000 "])
@pytest.mark.parametrize("limit", [1, 2, 3, 7, 10])
def test_words_at_and_past_the_limit(space: str, limit: int) -> None:
    for before in range(0, 2 * limit + 2):
        for length in (limit - 1, limit, limit + 1, 2 * limit + 1):
            if length < 1:
                continue
            for after in (0, 1, limit):
                text = space.join(filter(None, ["a" * before, "b" * length, "c" * after]))
                assert _has_long_word(text, limit) == split_says(text, limit) == (max(before, length, after) > limit)
                padded = space + text + space
                assert _has_long_word(padded, limit) == split_says(padded, limit)


def test_real_text_agrees_with_splitting() -> None:
    texts = [str(record["text"]) for record in stdlib_documents()]
    assert texts
    for text in texts:
        for limit in (1, 4, 9, 12, 30, 1000):
            assert _has_long_word(text, limit) == split_says(text, limit), limit
        for line in text.splitlines():
            for limit in (5, 11):
                assert _has_long_word(line, limit) == split_says(line, limit)


def test_a_long_word_anywhere_in_a_long_line() -> None:
    words = ["word"] * 400
    assert not _has_long_word(" ".join(words), 1000)
    for at in (0, 1, 199, 399):
        assert _has_long_word(" ".join(words[:at] + ["x" * 1001] + words[at:]), 1000)
        assert not _has_long_word(" ".join(words[:at] + ["x" * 1000] + words[at:]), 1000)
