from __future__ import annotations

import pytest

from olmo_core.documents import Document
from olmo_data.taggers.gopher import (GopherQualityConfig, GopherQualityTagger, GopherRepetitionTagger,
                                      duplicate_ngram_chars, top_ngram_chars, word_table)
from olmo_data.taggers.rules import Check, check_attributes
from tests.conftest import stdlib_documents
from tests.data.taggers import reference
from tests.data.taggers.helpers import doc_values, prose_docstrings, python_files

FOXES = "the quick brown foxes jumped over lazy dogs"
DOGS = "and then the story of the dogs ended quietly"
PROSE = "The cat sat with the dog and a bird, and they had a good time of it all day long. " * 5


def tag(tagger: GopherQualityTagger | GopherRepetitionTagger, text: str) -> dict[str, object]:
    return doc_values(tagger.tag(Document(id="x", text=text)), len(text))


def check_against_reference(tagger: GopherQualityTagger | GopherRepetitionTagger, text: str, expected: tuple) -> None:
    reason, values = expected
    found = tag(tagger, text)
    assert found.get("reason", "") == reason
    assert found["keep"] == int(not reason)
    for name, value in values.items():
        assert found[name] == pytest.approx(value, abs=1e-5), name
        assert found[f"{name}_pass"] in (0, 1)


@pytest.mark.parametrize("record", stdlib_documents(), ids=lambda r: str(r["id"]))
def test_real_prose_matches_the_reference(record: dict[str, object]) -> None:
    text = str(record["text"])
    check_against_reference(GopherQualityTagger(), text, reference.gopher_quality(text))
    check_against_reference(GopherRepetitionTagger(), text, reference.gopher_repetition(text))


def test_real_code_matches_the_reference() -> None:
    for _, text in python_files(12):
        check_against_reference(GopherQualityTagger(), text, reference.gopher_quality(text))
        check_against_reference(GopherRepetitionTagger(), text, reference.gopher_repetition(text))


def test_prose_docstrings_are_kept_and_short_ones_dropped() -> None:
    kept = [text for text in prose_docstrings()
            if tag(GopherQualityTagger(), text)["keep"] and tag(GopherRepetitionTagger(), text)["keep"]]
    assert len(kept) >= 3
    for text in prose_docstrings():
        check_against_reference(GopherQualityTagger(), text, reference.gopher_quality(text))
        check_against_reference(GopherRepetitionTagger(), text, reference.gopher_repetition(text))
    found = {str(r["id"]): tag(GopherQualityTagger(), str(r["text"])) for r in stdlib_documents()}
    # bisect's module docstring is one line; json's holds code examples (too few words with letters).
    assert (found["stdlib-bisect"]["keep"], found["stdlib-bisect"]["reason"]) == (0, "gopher_short_doc")
    assert found["stdlib-json"]["reason"] == "gopher_below_alpha_threshold"


# PROSE: 5 x (20 words + "," + ".") = 110 words, 100 of them with letters, mean length exactly 3.0.
@pytest.mark.parametrize(("text", "reason"), [
    ("word " * 49, "gopher_short_doc"),                               # 49 words < 50
    (PROSE, ""),                                                      # mean 3.0 is not < 3; 4 stop words
    ("a an it is of to be by " * 10, "gopher_below_avg_threshold"),   # mean length 15/8 < 3
    ("internationalization " * 60, "gopher_above_avg_threshold"),     # mean length 20 > 10
    (PROSE + "#" * 20, "gopher_too_many_hashes"),                     # 20 '#' words: 20/130 > 0.1
    (PROSE + "#" * 8, ""),                                            # 8/118 = 0.068
    (PROSE + " ..." * 13 + " end.", "gopher_too_many_ellipsis"),      # 13/125 = 0.104 > 0.1
    (PROSE + " ..." * 12 + " end.", ""),                              # 12/124 = 0.097
    ("\n".join([f"- {FOXES}"] * 10), "gopher_too_many_bullets"),                 # 10 of 10 lines > 0.9
    ("\n".join([f"• {FOXES}"] * 9 + ["the end of the story"]), ""),              # 9 of 10 is not > 0.9
    ("\n".join([f"{FOXES} …"] * 4 + [DOGS] * 6), "gopher_too_many_end_ellipsis"),  # 4 of 10 lines > 0.3
    ("\n".join([f"{FOXES} …"] * 3 + [DOGS] * 7), ""),                            # 3 of 10 is not > 0.3
    (PROSE + " 1000" * 30, "gopher_below_alpha_threshold"),          # 100 of 140 words have a letter: 0.71
    (PROSE + " 1000" * 10, ""),                                       # 100 of 120: 0.83
    ("cat dog bird fish sat " * 12, "gopher_enough_stop_words"),       # no stop word
    ("cat dog the fish sat " * 12, "gopher_enough_stop_words"),        # one distinct stop word
    ("cat dog the fish of " * 12, ""),                                 # two distinct stop words
    ("", "gopher_short_doc"),
])
def test_quality_thresholds_on_both_sides(text: str, reason: str) -> None:
    found = tag(GopherQualityTagger(), text)
    assert found.get("reason", "") == reason
    assert reference.gopher_quality(text)[0] == reason


def test_thresholds_are_configurable_and_can_be_turned_off() -> None:
    text = "word " * 49
    assert tag(GopherQualityTagger(GopherQualityConfig(min_doc_words=40)), text)["word_count_pass"] == 1
    off = GopherQualityConfig(min_doc_words=None, min_stop_words=None)
    assert tag(GopherQualityTagger(off), text)["keep"] == 1


PARAGRAPH = "The quick brown fox jumps over the lazy dog near the river bank today."


@pytest.mark.parametrize(("text", "reason"), [
    ("", "empty"),
    ("\n\n".join([PARAGRAPH, PARAGRAPH, "Something else entirely."]), "dup_para_frac"),   # 1 of 3 > 0.3
    ("\n\n".join([PARAGRAPH, "A different first line that is long enough to matter here and now.",
                  "Another distinct paragraph of text with many words in it for sure.", PARAGRAPH]),
     "dup_para_char_frac"),        # 1 of 4 paragraphs repeats (0.25 <= 0.3) but it holds 70/287 > 0.2 chars
    ("\n".join(["alpha beta", "gamma delta", "alpha beta", "alpha beta", "epsilon zeta omega"]), "dup_line_frac"),
    ("lorem " * 40 + "ipsum " * 40, "top_2_gram"),
    (" ".join(f"w{i}" for i in range(200)), ""),                     # all n-grams unique
    (" ".join(f"w{i}" for i in range(60)) + " a b c d e a b c d e " + " ".join(f"v{i}" for i in range(60)), ""),
])
def test_repetition_rules_on_both_sides(text: str, reason: str) -> None:
    found = tag(GopherRepetitionTagger(), text)
    assert found.get("reason", "") == reason
    assert reference.gopher_repetition(text)[0] == reason


def test_duplicate_paragraph_fraction_by_hand() -> None:
    # paragraphs P, "One more.", "Two more here.", P: 1 repeat of 4 = 0.25 (not > 0.3); the repeat holds 70 of
    # 70 + 9 + 14 + 70 + 3 x 2 (blank-line breaks) = 169 characters: 0.414 > 0.2.
    text = "\n\n".join([PARAGRAPH, "One more.", "Two more here.", PARAGRAPH])
    found = tag(GopherRepetitionTagger(), text)
    assert (len(PARAGRAPH), len(text)) == (70, 169)
    assert (found["dup_para_frac"], found["dup_para_frac_pass"]) == (0.25, 1)
    assert (found["dup_para_char_frac"], found["dup_para_char_frac_pass"]) == (round(70 / 169, 5), 0)
    assert found["reason"] == "dup_para_char_frac"


@pytest.mark.parametrize("repeats", [10, 9])
def test_duplicated_5_grams_by_hand(repeats: int) -> None:
    # A 5-word phrase of 6-letter words repeated, then unique 4-letter words up to about 1,750 characters.
    # Each repeat after the first adds 30 characters of repeated 5-grams; the most frequent 4-gram is the
    # phrase's first four words, 27 characters, once per repeat.
    phrase = "alphaa bravoo charli deltaa echooo "
    text = phrase * repeats + " ".join(f"u{i:03}" for i in range((1750 - 35 * repeats) // 5))
    found = tag(GopherRepetitionTagger(), text)
    assert found["dup_5_gram_char_frac"] == round(30 * (repeats - 1) / len(text), 5)
    assert found["top_4_gram_char_frac"] == round(27 * repeats / len(text), 5)
    assert found["dup_5_gram_char_frac_pass"] == int(repeats == 9)  # 270/1749 > 0.15; 240/1749 is not
    assert found["reason"] == reference.gopher_repetition(text)[0]
    assert found["reason"] == ("duplicated_5_n_grams" if repeats == 10 else "duplicated_8_n_grams")


def test_ngram_helpers_by_hand() -> None:
    words = "a b a b a b c".split()
    # 2-grams: "a b" x3, "b a" x2, "b c" x1 -> top "a b": 3 characters x 3
    assert top_ngram_chars(words, 2) == 9
    # 2-grams joined: ab, ba, ab (seen: +2, jump 2), ab (seen: +2, jump 2) ... -> positions 0,1,2(+2),4(+2),6 end
    assert duplicate_ngram_chars(words, 2) == 4
    assert top_ngram_chars(words, 8) == 0 and duplicate_ngram_chars(words, 8) == 0


def test_word_table_packs_each_words_statistics() -> None:
    words, stats = word_table("Hi , world ... 42 ½ C3PO")
    assert words == ("Hi", ",", "world", "...", "42", "½", "C3PO")
    # bit 0: not a symbol; bit 1: has a letter; the rest: the length (symbols' too, for the repetition tagger)
    assert [(s & 1, s >> 1 & 1, s >> 2) for s in stats.tolist()] == [
        (1, 1, 2), (0, 0, 1), (1, 1, 5), (0, 0, 3), (1, 0, 2), (1, 0, 1), (1, 1, 4)]
    assert word_table("Hi , world ... 42 ½ C3PO")[1] is stats  # remembered: both Gopher taggers share one pass


def test_quality_word_totals_leave_symbols_out_of_the_mean_length() -> None:
    # words: Hello , world ! -> 2 counted (5 + 5 characters), 2 with a letter, 4 in all
    found = tag(GopherQualityTagger(GopherQualityConfig(min_doc_words=None)), "Hello , world !")
    assert found["word_count"] == 2 and found["mean_word_length"] == 5 and found["alpha_words_ratio"] == 0.5


def test_rule_attributes_layout() -> None:
    attributes = check_attributes(10, [Check("a", 1, True, "r_a"), Check("b", 0.123456, False, "r_b"),
                                       Check("c", 2, False, "r_c")])
    assert attributes == {"a": [[0, 10, 1]], "a_pass": [[0, 10, 1]], "b": [[0, 10, 0.12346]],
                          "b_pass": [[0, 10, 0]], "c": [[0, 10, 2]], "c_pass": [[0, 10, 0]], "keep": [[0, 10, 0]],
                          "reason": [[0, 10, "r_b"]]}
