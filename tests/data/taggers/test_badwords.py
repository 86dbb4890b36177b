from __future__ import annotations

from olmo_core.documents import Document
from olmo_data.taggers.badwords import BadWordsConfig, BadWordsTagger, word_list
from tests.conftest import stdlib_documents


def test_the_ldnoobw_english_list() -> None:
    words = word_list("en")
    assert len(words) == 403 and words[0] == "2g1c" and "2 girls 1 cup" in words


def test_whole_words_and_phrases_only() -> None:
    tagger = BadWordsTagger(BadWordsConfig())
    text = "Scunthorpe and Essex are towns; the phrase 2 Girls 1 Cup is on the list."
    attributes = tagger.tag(Document(id="x", text=text))
    assert [text[int(s[0]):int(s[1])] for s in attributes["bad_word"]] == ["2 Girls 1 Cup"]
    assert attributes["count"] == [[0, len(text), 1]] and attributes["has_bad_word"] == [[0, len(text), 1]]


def test_clean_prose_has_none() -> None:
    tagger = BadWordsTagger(BadWordsConfig())
    for record in stdlib_documents():
        assert tagger.tag(Document(id="x", text=str(record["text"])))["has_bad_word"][0][2] == 0


def test_fast_matching_equals_the_plain_regex_on_real_mail() -> None:
    from olmo_core.plugins import get_host
    from olmo_data.taggers.badwords import _fallback, _matcher

    source = get_host().registry("sources").build({"_name_": "spam-assassin", "limit": 300})
    matcher = _matcher(("en",))
    reference = _fallback(matcher.entries)
    matched = 0
    for document in source.documents():
        expected = [m.span() for m in reference.finditer(document.text)]
        assert matcher.spans(document.text) == expected, document.id
        matched += bool(expected)
    assert matched > 20  # spam does use these words (31 of these 300 mails)
