"""Dolma documents in Parquet go through the same commands as JSON lines."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from olmo_core.documents import Document, Quarantined, read_documents
from tests.conftest import stdlib_documents


def write_parquet(path: Path) -> list[dict[str, Any]]:
    records = [{"id": r["id"], "text": r["text"], "source": r["source"]} for r in stdlib_documents()]
    rows = [*records, {"id": "broken", "text": None, "source": "python-docs"}]
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=5)
    return records


def test_parquet_rows_are_documents_or_quarantined(tmp_path: Path) -> None:
    records = write_parquet(tmp_path / "docs.parquet")
    items = list(read_documents(str(tmp_path / "docs.parquet")))
    assert [d.id for d in items if isinstance(d, Document)] == [r["id"] for r in records]
    bad = [q for q in items if isinstance(q, Quarantined)]
    assert [(q.line, q.reason) for q in bad] == [(len(records) + 1, "'text' is null")]


def test_tag_and_filter_a_parquet_dataset(tmp_path: Path, olmo_cli: Any) -> None:
    records = write_parquet(tmp_path / "ds" / "documents" / "part-0.parquet")
    assert olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[pii]").exit_code == 0
    out = tmp_path / "out"
    result = olmo_cli("data", "filter", f"input={tmp_path / 'ds'}", f"output={out}", "exclude=['length < 100']")
    assert result.exit_code == 0, result.err
    with gzip.open(out / "documents" / "part-0.jsonl.gz", "rt") as f:
        kept = [json.loads(line)["id"] for line in f]
    assert kept == [r["id"] for r in records if len(str(r["text"])) >= 100]
    report = json.loads((out / "reports" / "filter.json").read_text())
    assert (report["records"], report["quarantined"]) == (len(records) + 1, 1)
    assert (tmp_path / "ds" / "attributes" / "pii" / "part-0.jsonl.gz").exists()


def test_metadata_as_json_text_is_tagged_and_all_quarantined_input_fails(tmp_path: Path, olmo_cli: Any) -> None:
    records = [{"id": r["id"], "text": r["text"], "source": r["source"], "metadata": json.dumps(r["metadata"])}
               for r in stdlib_documents()]
    (tmp_path / "ds" / "documents").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(records), tmp_path / "ds" / "documents" / "part-0.parquet")
    result = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[pii]")
    assert result.exit_code == 0, result.err
    report = json.loads((tmp_path / "ds" / "reports" / "tag.json").read_text())
    assert (report["records"], report["documents"], report["quarantined"]) == (len(records), len(records), 0)

    broken = [{**r, "metadata": "{not json"} for r in records]
    (tmp_path / "bad" / "documents").mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(broken), tmp_path / "bad" / "documents" / "part-0.parquet")
    failed = olmo_cli("data", "tag", f"input={tmp_path / 'bad'}", "taggers=[pii]")
    assert failed.exit_code == 1
    error = failed.err.strip().splitlines()[-1]
    assert error.startswith(f"error: olmo data tag: all {len(records)} records of input='{tmp_path / 'bad'}' were "
                            f"quarantined ('metadata' is a string that is not JSON: {len(records)})")
    report = json.loads((tmp_path / "bad" / "reports" / "tag.json").read_text())
    assert (report["records"], report["documents"], report["quarantined"]) == (len(records), 0, len(records))
    assert report["complete"] is False and "were quarantined" in report["error"]
