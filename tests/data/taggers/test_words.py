from __future__ import annotations

import pytest

from olmo_data.taggers.words import count_sentences, split_words, words_of

# Each expected split is what spaCy 3.8's spacy.blank("en") tokenizer gives (datatrove's word splitter).
SPACY_SPLITS = [
    ("Don't stop... #growth", ["Do", "n't", "stop", "...", "#", "growth"]),
    ("John's. users' __init__", ["John", "'s", ".", "users", "'", "_", "_", "init", "_", "_"]),
    ("os.path.join(a, (e.g. U.S. NASA. Python.)", ["os.path.join(a", ",", "(", "e.g.", "U.S.", "NASA", ".",
                                                 "Python", ".", ")"]),
    ("foo... well-known 2-3 x-1 --verbose -5", ["foo", "...", "well", "-", "known", "2", "-", "3", "x-1",
                                                "--verbose", "-5"]),
    ("http://a.com/b. user@example.com 10km 100% $5", ["http://a.com/b", ".", "user@example.com", "10", "km",
                                                      "100", "%", "$", "5"]),
    ("end.Start f(x): a[1:] a,b 1,000 and/or", ["end", ".", "Start", "f(x", "):", "a[1", ":]", "a", ",", "b",
                                                "1,000", "and/or"]),
    ("cannot id c.Emin 's' 37.6° e-mail", ["can", "not", "i", "d", "c.", "Emin", "'s", "'", "37.6", "°", "e", "-",
                                          "mail"]),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), SPACY_SPLITS)
def test_splits_like_spacy(text: str, expected: list[str]) -> None:
    assert split_words(text) == expected
    assert words_of(text) == tuple(expected)


@pytest.mark.parametrize(("text", "expected"), [
    ("Hello world. How are you? Fine!", 3),
    ("e.g. this is one sentence.", 1),
    ("Mr. Smith went home. He slept.", 2),
    ("Wait... what?", 1),
    ("It costs 3.50 dollars. Really!? Yes.", 3),
    ('"Quoted." Then more.', 2),
    ("One sentence without an end", 1),
    ("   ", 0),
])
def test_sentences_like_the_spacy_sentencizer(text: str, expected: int) -> None:
    assert count_sentences(text) == expected


def test_sentence_count_from_the_marks_equals_the_count_over_every_word() -> None:
    """count_sentences looks only at the pieces around sentence-final marks; sentences_in_pieces classifies
    every word of the text. Both must count the same on real text, line by line and whole."""
    from olmo_core.plugins import get_host

    from olmo_data.taggers.words import sentences_in_pieces

    source = get_host().registry("sources").build({"_name_": "moby-dick", "limit": 40})
    texts = [document.text for document in source.documents()]
    samples = texts + [line for text in texts for line in text.splitlines()]
    samples += ["a. b", "x .y. z!", "?!", "Wait... what?\u00a0No.", "end.\tStart\nmore"]
    assert len(samples) > 1000
    assert [count_sentences(s) for s in samples] == [sentences_in_pieces(s.split()) for s in samples]
