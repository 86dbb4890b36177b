from __future__ import annotations

import pytest

from olmo_core.errors import UnknownComponentError, did_you_mean


@pytest.mark.parametrize(("word", "choices", "expected"), [
    ("jsno", ["json", "output"], " (did you mean 'json'?)"),
    ("langauge", ["language", "pii", "c4"], " (did you mean 'language'?)"),
    ("gophr", ["gopher_quality", "gopher_repetition", "c4"],
     " (did you mean 'gopher_quality' or 'gopher_repetition'?)"),
    ("repetiton", ["gopher_quality", "gopher_repetition"], " (did you mean 'gopher_repetition'?)"),
    ("min", ["min_words", "max_words"], " (did you mean 'min_words'?)"),
    ("xyz", ["json", "output"], ""),
    ("a", ["a_b", "c"], ""),
])
def test_did_you_mean(word: str, choices: list[str], expected: str) -> None:
    assert did_you_mean(word, choices) == expected


def test_unknown_component_error_suggests_and_lists() -> None:
    error = UnknownComponentError("tagger", "gophr", ["gopher_quality", "gopher_repetition", "pii"])
    assert str(error) == ("unknown tagger 'gophr' (did you mean 'gopher_quality' or 'gopher_repetition'?); available: "
                          "gopher_quality, gopher_repetition, pii (see `olmo plugins`)")
