from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
import zstandard

from olmo_core.documents import (Document, NoDocumentsError, NotDocumentsError, Quarantined, document_files,
                                 read_documents, require_documents)


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def test_every_line_is_a_document_or_quarantined_with_its_reason(tmp_path: Path) -> None:
    good = json.dumps({"id": "a", "text": "Call me Ishmael.", "source": "books"}).encode()
    path = write_lines(tmp_path / "mixed.jsonl", [
        good,
        b'{"id": "b", "text": "unterminated',
        b'{"id": "c", "source": "x"}',
        b'{"id": "d", "text": "caf\xe9"}',
        b"",
        b'{"id": "e", "text": 5}',
        b'["not", "an", "object"]',
    ])
    items = list(read_documents(str(path)))
    assert items[0] == Document(id="a", text="Call me Ishmael.", source="books")
    bad = [(q.line, q.reason) for q in items[1:] if isinstance(q, Quarantined)]
    assert bad == [
        (2, "invalid JSON (Unterminated string starting at)"),
        (3, "missing 'text'"),
        (4, "not UTF-8 (invalid continuation byte at byte 24)"),
        (6, "'text' is int, not a string"),
        (7, "expected a JSON object, got list"),
    ]
    assert items[3].raw == b'{"id": "d", "text": "caf\xe9"}\n'  # type: ignore[union-attr]


def test_each_document_keeps_its_line_past_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    path.write_text('\n{"id": "a", "text": "x"}\n\n\n{"id": "b", "text": "y"}\n{"id": "c"}\n{"id": "d", "text": "z"}\n')
    assert [(i.line, getattr(i, "id", None)) for i in read_documents(str(path))] == [
        (2, "a"), (5, "b"), (6, None), (7, "d")]


def test_truncated_gzip_keeps_what_came_before(tmp_path: Path) -> None:
    lines = [json.dumps({"id": str(i), "text": f"document number {i} " * 40}) for i in range(200)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    items = list(read_documents(str(path)))
    docs = [i for i in items if isinstance(i, Document)]
    assert 0 < len(docs) < 200 and [d.id for d in docs] == [str(i) for i in range(len(docs))]
    assert isinstance(items[-1], Quarantined) and items[-1].reason.startswith(f"unreadable after line")


def test_zstd_and_empty_files(tmp_path: Path) -> None:
    zst = tmp_path / "a.jsonl.zst"
    zst.write_bytes(zstandard.ZstdCompressor().compress(b'{"id": "z", "text": "zstd text"}\n'))
    assert list(read_documents(str(zst))) == [Document(id="z", text="zstd text")]
    empty = tmp_path / "empty.jsonl.gz"
    empty.write_bytes(gzip.compress(b""))
    assert list(read_documents(str(empty))) == []


def test_corrupt_zstd_keeps_what_came_before(tmp_path: Path) -> None:
    lines = b"".join(json.dumps({"id": str(i), "text": f"line {i} " * 50}).encode() + b"\n" for i in range(300))
    data = zstandard.ZstdCompressor().compress(lines)
    path = tmp_path / "cut.jsonl.zst"
    path.write_bytes(data[: len(data) // 2])
    items = list(read_documents(str(path)))
    assert isinstance(items[-1], Quarantined) and items[-1].reason.startswith("unreadable after line")
    assert all(isinstance(i, Document) for i in items[:-1])


def test_parquet_metadata_as_json_text_is_parsed_as_dolma_does(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [{"id": "a", "text": "Call me Ishmael.", "source": "books", "metadata": json.dumps({"chapter": 1})},
            {"id": "b", "text": "Some years ago.", "source": "books", "metadata": ""},
            {"id": "c", "text": "Never mind how long.", "source": "books", "metadata": "{not json"}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "docs.parquet")
    items = list(read_documents(str(tmp_path / "docs.parquet")))
    assert items[:2] == [Document(id="a", text="Call me Ishmael.", source="books", metadata={"chapter": 1}),
                         Document(id="b", text="Some years ago.", source="books")]
    assert isinstance(items[2], Quarantined) and items[2].line == 3
    assert items[2].reason.startswith("'metadata' is a string that is not JSON")
    as_map = pa.array([[("k", "v")]], pa.map_(pa.string(), pa.string()))
    mapped = pa.table({"id": ["m"], "text": ["x"], "metadata": as_map})
    pq.write_table(mapped, tmp_path / "map.parquet")
    assert list(read_documents(str(tmp_path / "map.parquet"))) == [Document(id="m", text="x", metadata={"k": "v"})]


def test_document_files_refuses_a_datasets_other_folders(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    for folder in ("documents", "attributes/pii", "quarantine", "dropped", "reports"):
        (ds / folder).mkdir(parents=True)
    (ds / "documents" / "a.jsonl").write_text('{"id": "1", "text": "x"}\n')
    (ds / "attributes" / "pii" / "a.jsonl").write_text('{"id": "1", "attributes": {}}\n')
    (ds / "quarantine" / "a.jsonl").write_text('{"file": "a.jsonl", "line": 2, "reason": "x"}\n')
    (ds / "dropped" / "a.jsonl").write_text('{"id": "2", "text": "y"}\n')
    (ds / "reports" / "tag.json").write_text("{}\n")
    assert document_files(str(ds)) == [f"{ds}/documents/a.jsonl"]
    for name in ("attributes", "attributes/pii", "quarantine", "dropped", "reports", "attributes/pii/a.jsonl",
                 "quarantine/*.jsonl"):
        with pytest.raises(NotDocumentsError, match=rf"holds the dataset's {name.split('/')[0]}, not documents: "
                                                    rf"give input={ds} \(its documents/\)"):
            document_files(f"{ds}/{name}")
    with pytest.raises(NotDocumentsError):  # a folder of datasets, searched recursively
        document_files(str(tmp_path))
    loose = tmp_path / "mine" / "reports"
    loose.mkdir(parents=True)
    (loose / "notes.jsonl").write_text('{"id": "1", "text": "x"}\n')
    assert document_files(str(loose)) == [f"{loose}/notes.jsonl"]  # no documents/ beside it: loose files


def test_require_documents_fails_only_when_every_record_was_quarantined(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="olmo_core.documents"):
        require_documents(0, 0, input="empty", step="olmo data tokenize")
        require_documents(5, 1, input="some", step="olmo data tag")
    assert [r.getMessage() for r in caplog.records] == [
        "olmo data tokenize: input='empty' holds no records (its files are empty), so its output is empty"]
    with pytest.raises(NoDocumentsError) as failed:
        require_documents(3, 0, input="ds", step="olmo data tag", reasons={"missing 'text'": 2, "invalid JSON": 1},
                          report="ds/reports/tag.json")
    assert str(failed.value) == ("olmo data tag: all 3 records of input='ds' were quarantined (missing 'text': 2, "
                                 "invalid JSON: 1), so there is no document to work on; see ds/reports/tag.json")
    assert failed.value.exit_code == 1 and "\n" not in str(failed.value)
