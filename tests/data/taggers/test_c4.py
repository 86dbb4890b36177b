from __future__ import annotations

import pytest

from olmo_core.documents import Document
from olmo_data.taggers.c4 import C4Config, C4Tagger
from tests.conftest import stdlib_documents
from tests.data.taggers import reference
from tests.data.taggers.helpers import doc_values, prose_docstrings, python_files

GOOD = "The cat sat on the mat. It was warm. The sun was out. Birds sang in the trees. All was well."


def check_against_reference(text: str) -> dict[str, object]:
    attributes = C4Tagger().tag(Document(id="x", text=text))
    found = doc_values(attributes, len(text))
    reason, kept = reference.c4(text)
    assert found.get("reason", "") == reason
    if not reason:
        cut = sorted((int(s[0]), int(s[1])) for s in attributes["removed_lines"] + attributes["citations"])
        rest, position = "", 0
        for start, end in cut:
            rest, position = rest + text[position:start], end
        rest += text[position:]
        assert [line.strip() for line in rest.splitlines() if line.strip()] == kept
    return found


def test_real_prose_and_code_match_the_reference() -> None:
    for text in [str(r["text"]) for r in stdlib_documents()] + prose_docstrings():
        check_against_reference(text)
    for _, text in python_files(12):
        check_against_reference(text)


def test_line_rules_and_spans() -> None:
    text = ("A line that ends well.\nno terminal punctuation\nToo short.\nIt ends in an ellipsis...\n"
            "Enable JavaScript to see this page.\nRead our privacy policy today.\n"
            f"{'x' * 1001} is far too long.\nCited fact here.[1] More of it [edit] ok.\n")
    attributes = C4Tagger().tag(Document(id="x", text=text))

    def lines(key: str) -> list[str]:
        return [text[int(s[0]):int(s[1])] for s in attributes[key]]

    assert lines("lines_no_terminal_punctuation") == ["no terminal punctuation\n", "It ends in an ellipsis...\n"]
    assert lines("lines_too_few_words") == ["Too short.\n"]
    assert lines("lines_javascript") == ["Enable JavaScript to see this page.\n"]
    assert lines("lines_policy") == ["Read our privacy policy today.\n"]
    assert lines("lines_too_long_word") == [f"{'x' * 1001} is far too long.\n"]
    assert len(attributes["removed_lines"]) == 6
    assert lines("citations") == ["[1]", "[edit]"]
    values = doc_values(attributes, len(text))
    # kept: "A line that ends well." and "Cited fact here. More of it  ok.": 1 + 2 sentences < 5
    assert (values["line_count"], values["kept_line_count"], values["sentence_count"]) == (8, 2, 3)
    assert values["reason"] == "too_few_sentences"


@pytest.mark.parametrize(("text", "reason"), [
    (GOOD, ""),                                                          # 5 sentences on one kept line
    ("The cat sat on the mat. It was warm. The sun was out. Birds sang in the trees.", "too_few_sentences"),
    (GOOD + "\nLorem ipsum dolor sit amet.", "lorem_ipsum"),
    (GOOD + "\nlorem ipsum dolor sit amet", ""),                         # removed first: no terminal mark
    (GOOD + "\nThe set {1, 2} is small.", "curly_bracket"),
    (GOOD + "\nThe set {1, 2} is small", ""),                            # removed first: no terminal mark
    (GOOD + "\nThe javascript set {1, 2} is small.", ""),                # removed as a javascript line
    (GOOD + "\nThe set {1} and lorem ipsum here.", "lorem_ipsum"),       # lorem is checked before {
    ("", "too_few_sentences"),
])
def test_document_rules_on_both_sides(text: str, reason: str) -> None:
    assert check_against_reference(text).get("reason", "") == reason


def test_switches() -> None:
    text = GOOD + "\nThe set {1, 2} is small."
    attributes = C4Tagger(C4Config(filter_curly_bracket=False, min_num_sentences=7)).tag(Document(id="x", text=text))
    assert doc_values(attributes, len(text))["reason"] == "too_few_sentences"
    assert doc_values(attributes, len(text))["sentence_count"] == 6


def test_bad_words_rule_is_off_by_default_and_uses_the_ldnoobw_list() -> None:
    text = GOOD + " He said 2 girls 1 cup was on the list."
    assert "has_bad_word" not in C4Tagger().tag(Document(id="x", text=text))
    found = doc_values(C4Tagger(C4Config(filter_bad_words=True)).tag(Document(id="x", text=text)), len(text))
    assert (found["has_bad_word"], found["reason"]) == (1, "document_removed_with_badwords")
    clean = doc_values(C4Tagger(C4Config(filter_bad_words=True)).tag(Document(id="x", text=GOOD)), len(GOOD))
    assert (clean["has_bad_word"], clean["keep"]) == (0, 1)
