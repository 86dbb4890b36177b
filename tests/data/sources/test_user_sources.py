"""Users' own files as sources: Dolma JSON lines, Parquet and plain-text folders, on any fsspec URL."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from olmo_core.documents import NoDocumentsError
from olmo_core.errors import ConfigError
from olmo_data.sources.user_files import (JsonlSource, ParquetConfig, ParquetSource, TextFolderConfig,
                                          TextFolderSource, UserSourceConfig)

from tests.data.sources.conftest import documents_of


def test_jsonl_files_keep_their_ids_and_count_bad_lines(tmp_path: Path) -> None:
    c4 = documents_of("c4")[:20]
    folder = tmp_path / "web"
    folder.mkdir()
    with gzip.open(folder / "a.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(d.to_json()) + "\n" for d in c4[:15])
    (folder / "b.jsonl").write_text("".join(json.dumps(d.to_json()) + "\n" for d in c4[15:]) + "not json\n")
    source = JsonlSource(UserSourceConfig(path=str(folder)))
    documents = list(source.documents())
    assert source.name == "web" and [d.id for d in documents] == [d.id for d in c4]
    assert all(d.source == "web" and d.metadata["original_source"] == "c4" for d in documents)
    assert documents[0].text == c4[0].text and dict(source.rejected) == {"invalid JSON": 1}
    named = JsonlSource(UserSourceConfig(path=f"{folder}/*.jsonl", name="sample", limit=2))
    assert [d.source for d in named.documents()] == ["sample", "sample"]


def test_parquet_with_a_configured_text_column(tmp_path: Path) -> None:
    sotu = documents_of("sotu")[:12]
    table = pa.table({"speech": [d.text for d in sotu], "year": [d.metadata["year"] for d in sotu],
                      "president": [d.metadata["president"] for d in sotu]})
    pq.write_table(table, tmp_path / "speeches.parquet", row_group_size=5)
    source = ParquetSource(ParquetConfig(path=str(tmp_path / "speeches.parquet"), text_column="speech"))
    documents = list(source.documents())
    assert len(documents) == 12 and source.name == "speeches"
    assert documents[0].id == "speeches-speeches.parquet-1" and documents[-1].id == "speeches-speeches.parquet-12"
    assert documents[0].text == sotu[0].text
    assert documents[0].metadata == {"year": 1790, "president": "George Washington"}
    with_ids = pa.table({"id": [d.id for d in sotu], "text": [d.text for d in sotu]})
    pq.write_table(with_ids, tmp_path / "more.parquet")
    again = ParquetSource(ParquetConfig(path=f"{tmp_path}/more.parquet"))
    assert [d.id for d in again.documents()] == [d.id for d in sotu]
    with pytest.raises(ConfigError, match="has no column 'text'"):
        list(ParquetSource(ParquetConfig(path=str(tmp_path / "speeches.parquet"))).documents())


def test_parquet_rows_keep_their_own_source_and_json_metadata(tmp_path: Path) -> None:
    sotu = documents_of("sotu")[:4]
    table = pa.table({"id": [d.id for d in sotu], "text": [d.text for d in sotu],
                      "source": ["sotu", "sotu", None, ""],
                      "metadata": [json.dumps({"year": d.metadata["year"]}) for d in sotu]})
    pq.write_table(table, tmp_path / "speeches.parquet")
    documents = list(ParquetSource(ParquetConfig(path=str(tmp_path / "speeches.parquet"))).documents())
    assert [d.source for d in documents] == ["sotu", "sotu", "speeches", "speeches"]
    assert [d.metadata for d in documents] == [{"year": d.metadata["year"]} for d in sotu]


def test_user_files_whose_every_record_is_rejected_fail(tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": ["1", "2"], "text": ["a", "b"], "metadata": ["{oops", "{oops"]}),
                   tmp_path / "bad.parquet")
    source = ParquetSource(ParquetConfig(path=str(tmp_path / "bad.parquet")))
    with pytest.raises(NoDocumentsError, match=r"source 'bad': all 2 records of input='.*bad.parquet' were "
                                               r"quarantined \('metadata' is a string that is not JSON: 2\)"):
        list(source.documents())
    (tmp_path / "bad.jsonl").write_text('{"id": "1"}\n')
    with pytest.raises(NoDocumentsError, match="all 1 records"):
        list(JsonlSource(UserSourceConfig(path=str(tmp_path / "bad.jsonl"))).documents())


def test_text_folder_on_memory_filesystem() -> None:
    fs = fsspec.filesystem("memory")
    milton = documents_of("milton")
    try:
        for document in milton[:3]:
            fs.pipe(f"/books/milton/{document.id}.txt", document.text.encode("utf-8"))
        fs.pipe("/books/lead-fr.txt", documents_of("wikipedia-fr")[0].text.encode("latin-1"))
        fs.pipe("/books/notes.md", b"not selected")
        source = TextFolderSource(TextFolderConfig(path="memory://books"))
        documents = list(source.documents())
        assert source.name == "books"
        assert [d.id for d in documents] == [f"books-milton/{d.id}.txt" for d in milton[:3]]
        assert documents[0].text == milton[0].text and documents[0].metadata == {"path": f"milton/{milton[0].id}.txt"}
        assert dict(source.rejected) == {"not UTF-8": 1}
    finally:
        fs.rm("/books", recursive=True)


def test_user_sources_need_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs the files to read"):
        list(JsonlSource(UserSourceConfig()).documents())
    with pytest.raises(ConfigError, match="matches no parquet files"):
        list(ParquetSource(ParquetConfig(path=str(tmp_path))).documents())


def test_fetch_a_text_folder(tmp_path: Path, olmo_cli: Any) -> None:
    books = tmp_path / "books"
    books.mkdir()
    for document in documents_of("moby-dick")[:4]:
        (books / f"{document.id}.txt").write_text(document.text, encoding="utf-8")
    output = tmp_path / "ds"
    result = olmo_cli("data", "fetch", "sources=[text-folder]", f"sources.text-folder.path={books}",
                       "sources.text-folder.name=melville",
                      f"output={output}")
    assert result.exit_code == 0, result.err
    with gzip.open(output / "documents" / "melville" / "part-00000.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    assert [r["id"] for r in rows] == sorted(f"melville-{d.id}.txt" for d in documents_of("moby-dick")[:4])
    assert "already complete" in olmo_cli("data", "fetch", "sources=[text-folder]",
                                          f"sources.text-folder.path={books}", "sources.text-folder.name=melville", f"output={output}").err
    (books / "moby-dick-chapter_1.txt").write_text(documents_of("moby-dick")[2].text + "\n", encoding="utf-8")
    changed = olmo_cli("data", "fetch", "sources=[text-folder]", f"sources.text-folder.path={books}",
                       "sources.text-folder.name=melville",
                       f"output={output}")
    assert "melville: wrote 4 documents" in changed.err


def test_fetch_quarantines_bad_lines_and_counts_every_record(tmp_path: Path, olmo_cli: Any) -> None:
    c4 = documents_of("c4")[:3]
    good = [json.dumps(d.to_json()) for d in c4]
    lines = [good[0], "{not json", good[1], '{"id": "x"}', json.dumps({**c4[2].to_json(), "text": ""}), good[2]]
    (tmp_path / "web.jsonl").write_text("\n".join(lines) + "\n")
    result = olmo_cli("data", "fetch", "sources=[jsonl]", f"sources.jsonl.path={tmp_path / 'web.jsonl'}",
                      f"output={tmp_path / 'ds'}")
    assert result.exit_code == 0, result.err
    assert "web: wrote 3 documents" in result.err and "6 records in: 3 written, 1 dropped, 2 quarantined" in result.err
    quarantined = [json.loads(line) for line in (tmp_path / "ds" / "quarantine" / "web.jsonl").read_text().splitlines()]
    assert [(Path(q["file"]).name, q["line"], q["reason"].split(" (")[0]) for q in quarantined] == \
        [("web.jsonl", 2, "invalid JSON"), ("web.jsonl", 4, "missing 'text'")]
    assert [base64.b64decode(q["raw_base64"]).decode().strip() for q in quarantined] == [lines[1], lines[3]]
    entry = json.loads((tmp_path / "ds" / "reports" / "fetch.json").read_text())["sources"]["web"]
    assert (entry["records"], entry["written"], entry["dropped"], entry["quarantined"]) == (6, 3, 1, 2)
    assert entry["dropped_reasons"] == {"empty": 1}


def test_fetch_a_text_folder_drops_empty_files_and_quarantines_other_encodings(tmp_path: Path,
                                                                                 olmo_cli: Any) -> None:
    books = tmp_path / "books"
    books.mkdir()
    texts = [d.text for d in documents_of("moby-dick")[:2]]
    for i, text in enumerate(texts):
        (books / f"{i}.txt").write_text(text, encoding="utf-8")
    (books / "empty.txt").write_text("")
    latin = documents_of("wikipedia-fr")[0].text.encode("latin-1")
    (books / "lead-fr.txt").write_bytes(latin)
    result = olmo_cli("data", "fetch", "sources=[text-folder]", f"sources.text-folder.path={books}",
                      f"output={tmp_path / 'ds'}")
    assert result.exit_code == 0, result.err
    assert "4 records in: 2 written, 1 dropped, 1 quarantined" in result.err
    (row,) = [json.loads(line) for line in (tmp_path / "ds" / "quarantine" / "books.jsonl").read_text().splitlines()]
    assert row["file"].endswith("books/lead-fr.txt") and row["reason"].startswith("not UTF-8")
    assert base64.b64decode(row["raw_base64"]) == latin
    report = (tmp_path / "ds" / "report.md").read_text()
    text_bytes = sum(len(t.encode("utf-8")) for t in texts)
    assert f"| books | 2 | 1 | 1 | {text_bytes:,} bytes | yours | {books} |" in report
