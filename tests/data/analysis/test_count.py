from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from olmo_data.analysis.search import snippet

from tests.data.analysis.conftest import by_source, documents_of, write_documents


@pytest.fixture
def moby_dick(tmp_path: Path) -> Path:
    """Every chapter of Moby-Dick, in two files."""
    chapters = documents_of("moby-dick")
    write_documents(tmp_path / "moby" / "documents" / "a.jsonl.gz", chapters[:70])
    write_documents(tmp_path / "moby" / "documents" / "b.jsonl", chapters[70:])
    return tmp_path / "moby"


@pytest.mark.parametrize(("options", "count"), [
    ((), lambda text: text.lower().count("whale")),
    (("case_sensitive=true",), lambda text: text.count("whale")),
    (("whole_word=true",), lambda text: len(re.findall(r"\bwhale\b", text, flags=re.IGNORECASE))),
    (("case_sensitive=true", "whole_word=true"), lambda text: len(re.findall(r"\bwhale\b", text))),
])
def test_whale_in_moby_dick(analysis: None, moby_dick: Path, olmo_cli: Any, tmp_path: Path,
                            options: tuple[str, ...], count: Any) -> None:
    chapters = documents_of("moby-dick")
    result = olmo_cli("data", "count", f"input={moby_dick}", "query=whale", f"output={tmp_path / 'out'}", *options)
    assert result.exit_code == 0, result.err
    report = json.loads((tmp_path / "out" / "count.json").read_text())
    per_chapter = [count(c.text) for c in chapters]
    matching = [c for c, n in zip(chapters, per_chapter, strict=True) if n]
    assert report["sources"] == {"moby-dick": {"documents": len(chapters), "matching": len(matching),
                                               "occurrences": sum(per_chapter)}}
    assert sum(per_chapter) > 500 and 0 < len(matching) < len(chapters)
    assert [e["id"] for e in report["examples"]] == [c.id for c in matching[:3]]
    assert f"{sum(per_chapter):,} occurrences in {len(matching)} of {len(chapters)} documents" in result.out
    for example, chapter in zip(report["examples"], matching, strict=False):
        found = chapter.text[example["offset"]:example["offset"] + 5]
        assert found.lower() == "whale" and f"[[{found}]]" in example["snippet"]
        assert f"moby-dick/{chapter.id} @{example['offset']}: " in result.out


def test_counts_per_source_and_workers(analysis: None, corpus: Path, olmo_cli: Any, tmp_path: Path) -> None:
    reports = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        result = olmo_cli("data", "count", f"input={corpus}", "query=the", "whole_word=true", "examples=5",
                          f"workers={workers}", f"output={out}")
        assert result.exit_code == 0, result.err
        reports.append((out / "count.json").read_text())
    assert reports[0] == reports[1]
    report = json.loads(reports[0])
    for name, documents in by_source().items():
        occurrences = [len(re.findall(r"\bthe\b", d.text, flags=re.IGNORECASE)) for d in documents]
        assert report["sources"][name] == {"documents": len(documents), "matching": sum(map(bool, occurrences)),
                                           "occurrences": sum(occurrences)}
    assert len(report["examples"]) == 5 and report["documents"] == 131

    nothing = olmo_cli("data", "count", f"input={corpus}", "query=zzyzx-not-there")
    assert nothing.exit_code == 0 and "0 occurrences in 0 of 131 documents" in nothing.out
    empty = olmo_cli("data", "count", f"input={corpus}", "query=''")
    assert empty.exit_code != 0 and "query is empty" in empty.err


def test_the_summary_line_gives_the_records_in_and_the_quarantined(analysis: None, moby_dick: Path, olmo_cli: Any,
                                                                   tmp_path: Path) -> None:
    chapters = documents_of("moby-dick")
    with (moby_dick / "documents" / "b.jsonl").open("a", encoding="utf-8") as f:
        f.write('not json\n{"id": "no-text"}\n')
    result = olmo_cli("data", "count", f"input={moby_dick}", "query=whale", f"output={tmp_path / 'out'}")
    assert result.exit_code == 0, result.err
    report = json.loads((tmp_path / "out" / "count.json").read_text())
    assert (report["records"], report["written"], report["quarantined"]) == (len(chapters) + 2, len(chapters), 2)
    assert f"read {len(chapters) + 2} records from 2 files: {len(chapters)} documents, 2 quarantined (counted, not " \
           "kept: olmo data filter or tokenize keeps them)" in result.err
    assert not (moby_dick / "quarantine").exists() and not (tmp_path / "out" / "quarantine").exists()
    clean = olmo_cli("data", "count", f"input={moby_dick / 'documents' / 'a.jsonl.gz'}", "query=whale")
    assert clean.exit_code == 0, clean.err
    assert clean.err.rstrip().endswith("read 70 records from 1 file: 70 documents, 0 quarantined")


def test_snippet_marks_the_match_and_folds_whitespace() -> None:
    text = "Call me Ishmael.\n\nSome years ago -\tnever mind how long"
    start = text.index("Some")
    assert snippet(text, start, start + 4, 8) == "...hmael. [[Some]] years a..."
    assert snippet(text, 0, 4, 100) == "[[Call]] me Ishmael. Some years ago - never mind how long"


def test_each_job_of_a_sweep_keeps_its_own_report(analysis: None, moby_dick: Path, olmo_cli: Any,
                                                   tmp_path: Path) -> None:
    result = olmo_cli("data", "count", f"input={moby_dick}", f"output={tmp_path / 'cnt'}", "-m", "query=whale,sea")
    assert result.exit_code == 0, result.err
    reports = {p.parent.name: json.loads(p.read_text())["query"] for p in (tmp_path / "cnt").glob("*/count.json")}
    assert reports == {"query=whale": "whale", "query=sea": "sea"}  # one file, overwritten by each job, before
