"""The exact deduper: text digests and URLs, first occurrence kept, on real documents."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from olmo_core.documents import Document

from tests.data.dedup.conftest import attribute_rows, copy, marked, planted_corpus, source_documents, write_dataset

KEY = "exact__exact__"


def test_copies_and_repeated_urls_are_marked_and_distinct_documents_kept(tmp_path: Path, run_dedup: Any) -> None:
    files, originals = planted_corpus()
    dataset = write_dataset(tmp_path / "ds", files)
    result = run_dedup(dataset, "dedupers=[exact]")
    rows = attribute_rows(dataset, "exact")
    assert marked(rows, KEY + "duplicate") == {"planted-copy": originals["planted-copy"].id,
                                               "planted-recrawl": originals["planted-recrawl"].id}
    assert marked(rows, KEY + "text_duplicate") == {"planted-copy": originals["planted-copy"].id}
    assert marked(rows, KEY + "url_duplicate") == {"planted-recrawl": originals["planted-recrawl"].id}
    kept = rows["wikipedia-Academic_art"]
    length = len(originals["planted-copy"].text)
    assert kept == {KEY + "duplicate": [[0, length, 0]], KEY + "text_duplicate": [[0, length, 0]],
                    KEY + "url_duplicate": [[0, length, 0]], KEY + "duplicate_of": []}
    for name, documents in files.items():
        assert list(attribute_rows(dataset, "exact", f"{name}.jsonl.gz")) == [d.id for d in documents]

    report = json.loads((dataset / "reports" / "dedup-exact.json").read_text())
    planted = report["per_source"]["planted"]
    marked_chars = len(originals["planted-copy"].text) + len(files["c-planted"][3].text)
    assert (planted["duplicate_documents"], planted["duplicate_characters"], planted["text"], planted["url"]) == \
        (2, marked_chars, 1, 1)
    assert report["per_source"]["wikipedia"]["duplicate_documents"] == 0
    assert (report["documents"], report["duplicate_documents"], report["counts"]) == (405, 2, {"text": 1, "url": 1})
    assert "exact: marked 2 of 405 documents (0.49%)" in result.err
    assert "  planted: 2 of 5 documents" in result.err


def test_normalized_text_finds_a_respaced_copy(tmp_path: Path, run_dedup: Any) -> None:
    files, originals = planted_corpus()
    dataset = write_dataset(tmp_path / "ds", files)
    run_dedup(dataset, "dedupers=[exact]", "dedupers.exact.normalize=whitespace", "dedupers.exact.algorithm=blake2b",
              "dedupers.exact.url=false")
    rows = attribute_rows(dataset, "exact")
    assert marked(rows, KEY + "duplicate") == {"planted-copy": originals["planted-copy"].id,
                                               "planted-spaced": originals["planted-spaced"].id}


def test_first_occurrence_in_file_then_line_order_is_kept(tmp_path: Path, run_dedup: Any) -> None:
    lead = source_documents("wikipedia")[0]
    dataset = write_dataset(tmp_path / "ds", {
        "b": [copy(lead, "b-1"), copy(lead, "b-2")],
        "a/x": [Document(id="a-0", text="something else"), copy(lead, "a-1")],
    })
    run_dedup(dataset, "dedupers=[exact]")
    rows = attribute_rows(dataset, "exact")
    assert marked(rows, KEY + "duplicate") == {"b-1": "a-1", "b-2": "a-1"}


def test_repeated_spanish_leads_are_real_duplicates(tmp_path: Path, run_dedup: Any) -> None:
    documents = source_documents("wikipedia", None, language="es")
    first: dict[str, str] = {}
    expected = {}
    for document in documents:
        if document.text in first:
            expected[document.id] = first[document.text]
        first.setdefault(document.text, document.id)
    assert len(expected) == 13
    dataset = write_dataset(tmp_path / "ds", {"es": documents})
    run_dedup(dataset, "dedupers=[exact]")
    rows = attribute_rows(dataset, "exact")
    assert marked(rows, KEY + "duplicate") == expected
    assert Counter(rows[i][KEY + "url_duplicate"][0][2] for i in expected) == {1: 13}
