"""The word splitter's shortcuts (a plain word and one punctuation mark, words joined by dashes) agree with its
rules."""

from __future__ import annotations

import pytest
from olmo_data.taggers.words import _split_piece, _split_rules

from tests.conftest import stdlib_documents
from tests.data.taggers.helpers import python_files

ENDS = ",;:!?)\"'.-(’”"


@pytest.mark.parametrize(("piece", "expected"), [
    ("word.", ("word", ".")),         # "." is split off after a lower-case letter ...
    ("A.", ("A.",)),                  # ... not after a single capital,
    ("Ωμέγα.", ("Ωμέγα.",)),          # ... nor after a letter outside Latin-1
    ("Mr.", ("Mr.",)),                # an abbreviation stays whole
    ("Im.", ("I", "m.")),             # a split contraction whose last part merges with the dot ("m." as in "a.")
    ("dont,", ("do", "nt", ",")),     # special cases keep their own split
    ("cannot!", ("can", "not", "!")),
    ("xD,", ("xD", ",")),             # an emoticon made of letters
    ("naïve;", ("naïve", ";")),
    ('years"', ("years", '"')),
    ("well-known", ("well", "-", "known")),  # a dash between letters is an infix
    ("jury-masts—how", ("jury", "-", "masts", "—", "how")),
    ("a--b", ("a", "--", "b")),               # a double dash is one infix (the rules split it)
    ("-a", ("-a",)),
])
def test_worked_examples(piece: str, expected: tuple[str, ...]) -> None:
    assert _split_piece(piece) == expected == _split_rules(piece)


def test_every_word_of_real_text_with_every_ending() -> None:
    texts = [str(record["text"]) for record in stdlib_documents()] + [text for _, text in python_files(12)]
    cores = {core for text in texts for piece in text.split() for core in (piece, piece[:-1], piece[1:])
             if core.isalpha()}
    assert len(cores) > 2000
    for core in cores:
        for end in ENDS:
            assert _split_piece(core + end) == _split_rules(core + end), core + end
    ordered = sorted(cores)
    for left, right in zip(ordered, ordered[1:] + ordered[:1]):
        for dash in ("-", "–", "—", "--", "~"):
            for piece in (left + dash + right, left + dash + right + dash + left):
                assert _split_piece(piece) == _split_rules(piece), piece
