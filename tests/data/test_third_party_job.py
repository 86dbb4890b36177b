"""A third-party job slots into ``olmo pipeline`` between first-party ones, with no change to any of them."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


@pytest.mark.slow
def test_a_plugin_curation_step_runs_between_dedup_and_mix(tmp_path: Path, example_plugin: ModuleType,
                                                          register_plugin: Any, olmo_cli: Any) -> None:
    register_plugin(example_plugin, "example_length")
    result = olmo_cli("pipeline", "name=third", f"runs_dir={tmp_path}", "pipeline=smoke",  # the smoke slice
                      "stages.drop_short.min_words=40",
                      "stages=[fetch,tag,filter,dedup,drop_short,mix,composition,report]")
    assert result.exit_code == 0, result.err
    stages = tmp_path / "third" / "stages"

    def metrics(stage: str) -> dict[str, Any]:
        return json.loads((stages / stage / "result.json").read_text())["metrics"]

    dedup, short, mix = metrics("03-dedup"), metrics("04-drop_short"), metrics("05-mix")
    assert 0 < short["dropped"] and short["kept"] + short["dropped"] == dedup["kept"]
    assert mix["documents_per_source"] == short["documents_per_source"] != dedup["documents_per_source"]
    assert mix["documents_out"] == short["kept"]
    assert metrics("06-composition")["documents_per_step"]["drop_short"] == short["documents_per_source"]
    report = (tmp_path / "third" / "report.md").read_text()
    assert "| source | fetched | filtered | deduplicated | drop_short | curated |" in report
    assert f"## Short documents\n\n{short['dropped']:,} documents with fewer words" in report


def test_the_example_job_accounts_for_every_record(dataset: Path, tmp_path: Path, example_plugin: ModuleType,
                                                   register_plugin: Any, olmo_cli: Any) -> None:
    import gzip

    from tests.conftest import stdlib_documents

    with gzip.open(dataset / "documents" / "docs.jsonl.gz", "at", encoding="utf-8") as f:
        f.write("{not json\n")  # a 13th line, no document
    register_plugin(example_plugin, "example_length")
    result = olmo_cli("example", "drop-short", f"input={dataset}", f"output={tmp_path / 'out'}", "min_words=40")
    assert result.exit_code == 0, result.err
    metrics = json.loads((tmp_path / "out" / "result.json").read_text())["metrics"]
    long_enough = sum(len(str(r["text"]).split()) >= 40 for r in stdlib_documents())
    assert (metrics["records"], metrics["written"], metrics["quarantined"]) == (13, long_enough, 1)
    assert metrics["written"] + metrics["dropped"] + metrics["quarantined"] == metrics["records"]
    [line] = (tmp_path / "out" / "quarantine.jsonl").read_text().splitlines()
    assert json.loads(line)["line"] == 13
    assert f"drop-short: 13 records in: {long_enough} written, {12 - long_enough} dropped, 1 quarantined" in result.err
