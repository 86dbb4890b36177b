from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from olmo_core.documents import Document
from olmo_core.errors import ConfigError
from olmo_data.taggers.language import LanguageConfig, LanguageTagger
from tests.conftest import stdlib_documents


@pytest.fixture(scope="module")
def tagger() -> LanguageTagger:
    return LanguageTagger(LanguageConfig(languages=["en", "fr"]))


def test_english_prose_is_english(tagger: LanguageTagger) -> None:
    unsure = []
    for record in stdlib_documents():
        attributes = tagger.tag(Document(id=str(record["id"]), text=str(record["text"])))
        assert attributes["top"][0][2] == "en"
        assert attributes["en"][0][2] > attributes["fr"][0][2]
        if attributes["en"][0][2] < 0.5:
            unsure.append(record["id"])
    # the two docstrings that are mostly code examples score below Dolma's 0.5 English threshold
    assert unsure == ["stdlib-json", "stdlib-string"]


def test_document_and_paragraph_scores() -> None:
    text = ("Le chat dort sur le canapé pendant que la pluie tombe.\n\n"
            "The committee will publish its findings next week.")
    tagger = LanguageTagger(LanguageConfig(languages=["en", "fr"]))
    attributes = tagger.tag(Document(id="mixed", text=text))
    first, second = text.split("\n\n")
    start = len(first) + 2
    assert [s[:2] for s in attributes["paragraph_top"]] == [[0, len(first)], [start, start + len(second)]]
    assert [s[2] for s in attributes["paragraph_top"]] == ["fr", "en"]
    whole = tagger.scores(text)
    assert attributes["en"][0][2] == round(whole["en"], 5) and attributes["fr"][0][2] == round(whole["fr"], 5)
    assert attributes["top"][0][2] == max(whole, key=whole.__getitem__)


def test_empty_text_has_no_language(tagger: LanguageTagger) -> None:
    attributes = tagger.tag(Document(id="e", text=""))
    assert attributes["top"] == [[0, 0, "unknown"]] and attributes["en"] == [[0, 0, 0.0]]
    assert attributes["paragraph_top"] == []


def test_a_language_code_lid_176_does_not_know_is_a_config_error(olmo_cli: Any, tmp_path: Path) -> None:
    # a made-up code scored 0 for every document, and a filter on it then dropped the whole corpus
    with pytest.raises(ConfigError, match=r"'english' is not one of LID-176's 176 language codes; .*en, fr"):
        LanguageTagger(LanguageConfig(languages=["en", "english"]))
    with pytest.raises(ConfigError, match=r"'fi_' is not one .*\(did you mean 'fi'\?\)"):
        LanguageTagger(LanguageConfig(languages=["fi_"]))
    docs = tmp_path / "ds" / "documents" / "a.jsonl"
    docs.parent.mkdir(parents=True)
    docs.write_text('{"id": "1", "text": "An English sentence about the weather."}\n')
    result = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[language]",
                      "taggers.language.languages=[xx]")
    assert result.exit_code == 2 and "'xx' is not one of LID-176's" in result.err
    assert not (tmp_path / "ds" / "attributes").exists()
