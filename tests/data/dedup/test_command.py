"""``olmo data dedup`` end to end: worker-independent output, reports, and the filter that drops duplicates."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from olmo_data.commands import dedup as dedup_command
from olmo_data.dedup import features as features_module
from olmo_data.dedup.features import part_features
from olmo_data.dedup.text import checked_paragraphs
from tests.data.dedup.conftest import copy, planted_corpus, write_dataset

ALL = "dedupers=[exact,bloom,minhash]"
SMALL = ("dedupers.bloom.expected_paragraphs=20000", "dedupers.bloom.false_positive_rate=1e-4")


def outputs(root: Path) -> dict[str, bytes]:
    """Every file the run wrote except the reports (whose timings differ)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "documents" not in p.parts and "reports" not in p.parts}


def without_timings(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k not in ("seconds", "docs_per_second", "attributes")} | \
        {"details": {k: v for k, v in report["details"].items() if k != "filter"}}


def test_results_do_not_depend_on_workers(tmp_path: Path, run_dedup: Any) -> None:
    files, _ = planted_corpus()
    wikipedia = files["a-wikipedia"]
    shards = {"a-0": wikipedia[:150], "a-1": wikipedia[150:], "b-c4": files["b-c4"], "c-planted": files["c-planted"]}
    runs = {}
    for workers in (1, 2):
        dataset = write_dataset(tmp_path / f"w{workers}", shards)
        run_dedup(dataset, ALL, *SMALL, f"workers={workers}")
        reports = {n: without_timings(json.loads((dataset / "reports" / f"dedup-{n}.json").read_text()))
                   for n in ("exact", "bloom", "minhash")}
        runs[workers] = (outputs(dataset), reports)
    written, reports = runs[1]
    assert sorted(written) == ["attributes/bloom/a-0.jsonl.gz", "attributes/bloom/a-1.jsonl.gz",
                               "attributes/bloom/b-c4.jsonl.gz", "attributes/bloom/c-planted.jsonl.gz",
                               "attributes/exact/a-0.jsonl.gz", "attributes/exact/a-1.jsonl.gz",
                               "attributes/exact/b-c4.jsonl.gz", "attributes/exact/c-planted.jsonl.gz",
                               "attributes/minhash/a-0.jsonl.gz", "attributes/minhash/a-1.jsonl.gz",
                               "attributes/minhash/b-c4.jsonl.gz", "attributes/minhash/c-planted.jsonl.gz",
                               "dedup/bloom.bloom"]
    assert runs[2] == runs[1]
    assert {n: r["duplicate_documents"] for n, r in reports.items()} == {"exact": 2, "bloom": 4, "minhash": 5}


def test_dedup_then_filter_drops_exactly_the_planted_duplicates(tmp_path: Path, run_dedup: Any,
                                                                  olmo_cli: Any) -> None:
    files, originals = planted_corpus()
    dataset = write_dataset(tmp_path / "ds", files)
    result = run_dedup(dataset, ALL, *SMALL)
    assert "minhash: marked 5 of 405 documents (1.23%)" in result.err
    assert f"reports: {dataset}/reports/dedup-*.json" in result.err
    report = json.loads((dataset / "reports" / "dedup-minhash.json").read_text())
    planted_chars = sum(len(d.text) for d in files["c-planted"])
    assert report["per_source"]["planted"] == {"characters": planted_chars, "documents": 5,
                                               "duplicate_characters": planted_chars, "duplicate_documents": 5}
    assert report["details"]["threshold"] == round((1 / 14) ** (1 / 8), 5)

    out = tmp_path / "filtered"
    filtered = olmo_cli("data", "filter", f"input={dataset}", f"output={out}",
                        "exclude=['exact__exact__duplicate == 1','minhash__minhash__duplicate == 1']")
    assert filtered.exit_code == 0, filtered.err
    dropped = [json.loads(line) for line in gzip.open(out / "dropped" / "c-planted.jsonl.gz", "rt")]
    assert sorted(d["id"] for d in dropped) == sorted(originals)
    filter_report = json.loads((out / "reports" / "filter.json").read_text())
    assert (filter_report["kept"], filter_report["dropped"]) == (400, 5)
    assert filter_report["dropped_by"] == {"exact__exact__duplicate == 1": 2, "minhash__minhash__duplicate == 1": 3}

    masked = tmp_path / "masked"
    replaced = olmo_cli("data", "filter", f"input={dataset}", f"output={masked}", "attributes=[bloom]",
                        "replace=['bloom__bloom__duplicate_paragraph => ']")
    assert replaced.exit_code == 0, replaced.err
    kept = {d["id"]: d["text"] for d in map(json.loads, gzip.open(masked / "documents" / "c-planted.jsonl.gz", "rt"))}
    appended = next(d for d in files["c-planted"] if d.id == "planted-appended")
    assert kept["planted-appended"] == appended.text.rsplit("\n", 1)[1]
    assert kept["planted-copy"] == originals["planted-copy"].text.split("\n")[0] + "\n\n"


def test_bad_lines_are_quarantined_and_rows_stay_aligned(tmp_path: Path, run_dedup: Any) -> None:
    docs = tmp_path / "ds" / "documents"
    docs.mkdir(parents=True)
    (docs / "a.jsonl").write_text('{"id": "1", "text": "same words here"}\nnot json\n'
                                  '{"id": "2", "text": "same words here"}\n')
    run_dedup(tmp_path / "ds", "dedupers=[exact,minhash]")
    lines = (tmp_path / "ds" / "attributes" / "exact" / "a.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["1", "2"]
    assert json.loads(lines[1])["attributes"]["exact__exact__duplicate_of"] == [[0, 15, "1"]]
    report = json.loads((tmp_path / "ds" / "reports" / "dedup-minhash.json").read_text())
    assert (report["records"], report["documents"], report["quarantined"]) == (3, 2, 1)
    assert (tmp_path / "ds" / "quarantine" / "a.jsonl").exists()


def test_dedup_needs_dedupers(tmp_path: Path, dedup_plugin: None, olmo_cli: Any) -> None:
    dataset = write_dataset(tmp_path / "ds", {"a": planted_corpus()[0]["b-c4"][:2]})
    result = olmo_cli("data", "dedup", f"input={dataset}")
    assert result.exit_code == 2
    assert "needs dedupers: dedupers=[name,...] (available: bloom, exact, minhash)" in result.err


def test_dedup_into_another_output_summarises_what_it_deduplicated(tmp_path: Path, run_dedup: Any) -> None:
    """Out of place, dedup drops the duplicates through the filter: its summary line says what dedup did
    ("deduplicated: ..."), not "filtered: ..."."""
    pages = planted_corpus()[0]["b-c4"][:20]
    dataset = write_dataset(tmp_path / "ds", {"a": pages, "b": [copy(pages[3], "copy-3")]})
    out = tmp_path / "out"
    result = run_dedup(dataset, "dedupers=[exact]", f"output={out}")
    assert "deduplicated: 21 records in: 20 written, 1 dropped, 0 quarantined" in result.err
    assert "filtered:" not in result.err
    assert not gzip.open(out / "documents" / "b.jsonl.gz", "rt").read()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_filter_sized_by_the_input_reads_the_documents_once_when_their_features_fit(
        tmp_path: Path, run_dedup: Any, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """Without expected_paragraphs, bloom counts the input's paragraphs in a first pass; the features computed there
    are kept for the decisions up to KEEP_FEATURES_BYTES, and the files past it are read again. The outputs are the
    same whatever is kept, and the filter is sized by the paragraphs counted independently here."""
    files, _ = planted_corpus()
    wikipedia = files["a-wikipedia"]
    shards = {"a-0": wikipedia[:150], "a-1": wikipedia[150:], "b-c4": files["b-c4"], "c-planted": files["c-planted"]}
    paragraphs = sum(len(checked_paragraphs(d.text, "whitespace", 20)[0]) // 2 for ds in shards.values() for d in ds)
    monkeypatch.setattr(dedup_command, "part_features", _counted_features)
    monkeypatch.setattr(features_module, "part_features", _counted_features)
    runs = {}
    for budget in (dedup_command.KEEP_FEATURES_BYTES, 100_000, 0):  # each file's features: about 77 kB (c: 3 kB)
        monkeypatch.setattr(dedup_command, "KEEP_FEATURES_BYTES", budget)
        _computed.clear()
        dataset = write_dataset(tmp_path / f"keep-{budget}", shards)
        run_dedup(dataset, "dedupers=[bloom]", f"workers={workers}")
        report = json.loads((dataset / "reports" / "dedup-bloom.json").read_text())
        assert report["details"]["expected_items"] == paragraphs
        runs[budget] = (outputs(dataset), without_timings(report))
        if workers == 1:
            reads = {"a-0.jsonl.gz": 1, "a-1.jsonl.gz": 1, "b-c4.jsonl.gz": 1, "c-planted.jsonl.gz": 1}
            if budget == 0:
                reads = {name: 2 for name in reads}
            elif budget == 100_000:  # a-0's features fit, a-1's do not
                reads = {name: 1 if name == "a-0.jsonl.gz" else 2 for name in reads}
            assert Counter(_computed) == reads, budget
    assert runs[0] == runs[100_000] == runs[dedup_command.KEEP_FEATURES_BYTES]


_computed: list[str] = []
"""The files whose features were computed, in this process."""


def _counted_features(part: Any, **options: Any) -> Any:
    _computed.append(Path(part.file).name)
    return part_features(part, **options)
