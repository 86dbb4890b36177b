from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

from tests.conftest import stdlib_documents

TAGGERS = ("gopher_quality", "gopher_repetition", "c4", "code")


def test_every_tagger_runs_inside_data_tag(dataset: Path, olmo_cli: Any) -> None:
    result = olmo_cli("data", "tag", f"input={dataset}", f"taggers=[{','.join(TAGGERS)}]", "experiment=q",
                      "taggers.c4.min_num_sentences=3")
    assert result.exit_code == 0, result.err
    records = stdlib_documents()
    for name in TAGGERS:
        with gzip.open(dataset / "attributes" / name / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        assert [r["id"] for r in rows] == [r["id"] for r in records]
        for row, record in zip(rows, records, strict=True):
            keep = row["attributes"][f"q__{name}__keep"]
            reason = row["attributes"][f"q__{name}__reason"]
            assert keep == [[0, len(str(record["text"])), keep[0][2]]]
            assert (reason == []) == (keep[0][2] == 1)
    heapq = next(r for r in rows_of(dataset, "c4") if r["id"] == "stdlib-heapq")
    assert heapq["attributes"]["q__c4__keep"][0][2] == 1  # 6 sentences: kept with the 3-sentence override


def rows_of(dataset: Path, name: str) -> list[dict[str, Any]]:
    with gzip.open(dataset / "attributes" / name / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]
