"""Quality rules on real mail, C4, Wikipedia and book text equal the independent reference computation."""

from __future__ import annotations

from typing import Any

import pytest

from olmo_core.documents import Document
from olmo_core.plugins import get_host
from olmo_data.taggers.c4 import C4Config, C4Tagger
from olmo_data.taggers.gopher import GopherQualityConfig, GopherQualityTagger, GopherRepetitionConfig, \
    GopherRepetitionTagger
from tests.data.taggers import reference
from tests.data.taggers.helpers import doc_values

SOURCES = {"c4": 60, "spam-assassin": 60, "wikipedia": 60, "moby-dick": 15}


@pytest.fixture(scope="module")
def documents() -> list[Any]:
    registry = get_host().registry("sources")
    return [d for name, limit in SOURCES.items() for d in registry.build({"_name_": name, "limit": limit}).documents()]


def test_gopher_rules_match_the_reference_on_every_source(documents: list[Any]) -> None:
    quality, repetition = GopherQualityTagger(GopherQualityConfig()), GopherRepetitionTagger(GopherRepetitionConfig())
    reasons: dict[str, set[str]] = {}
    for document in documents:
        for tagger, expected in ((quality, reference.gopher_quality(document.text)),
                                 (repetition, reference.gopher_repetition(document.text))):
            found = doc_values(tagger.tag(Document(id=document.id, text=document.text)), len(document.text))
            reason, values = expected
            assert found.get("reason", "") == reason, document.id
            for name, value in values.items():
                assert found[name] == pytest.approx(value, abs=1e-5), (document.id, name)
            reasons.setdefault(document.source, set()).add(reason)
    assert "" in reasons["c4"] and reasons["spam-assassin"] - {""}  # real pages kept, some spam dropped


def test_c4_rules_match_the_reference_on_every_source(documents: list[Any]) -> None:
    tagger = C4Tagger(C4Config())
    for document in documents:
        reason, kept_lines = reference.c4(document.text)
        found = doc_values(tagger.tag(Document(id=document.id, text=document.text)), len(document.text))
        assert found.get("reason", "") == reason, document.id
        if not reason:
            assert found["kept_line_count"] == len(kept_lines), document.id
