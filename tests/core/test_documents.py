from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import zlib
from pathlib import Path

import pytest
import zstandard

from olmo_core.documents import (Document, DocumentRange, NoDocumentsError, NotDocumentsError, Quarantined,
                                 document_files, read_documents, renumbered, require_documents)
from olmo_core.errors import ConfigError


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
        b'{"id": "f", "text": null}',
    ])
    items = list(read_documents(str(path)))
    assert items[0] == Document(id="a", text="Call me Ishmael.", source="books")
    bad = [(q.line, q.reason) for q in items[1:] if isinstance(q, Quarantined)]
    assert bad == [
        (2, "invalid JSON (Unterminated string starting at column 21)"),
        (3, "missing 'text'"),
        (4, "not UTF-8 (invalid continuation byte at byte 24)"),
        (6, "'text' is int, not a string"),
        (7, "expected a JSON object, got list"),
        (8, "'text' is null"),
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
    assert isinstance(items[-1], Quarantined) and items[-1].reason.startswith("unreadable after line")


def _readable_lines(compressed: bytes) -> tuple[list[bytes], bytes]:
    """The complete lines a streaming decompressor gets out of a cut gzip file (what ``zcat`` prints), and the
    unfinished last line."""
    content = zlib.decompressobj(wbits=31).decompress(compressed)
    *complete, rest = content.split(b"\n")
    return complete, rest


@pytest.mark.parametrize("count", [50, 3000])
def test_a_truncated_gzip_loses_no_readable_line(tmp_path: Path, count: int) -> None:
    lines = [json.dumps({"id": f"g{i}", "text": f"line {i} of a file cut in half " * 5}) for i in range(count)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(data[: len(data) // 2])
    complete, rest = _readable_lines(data[: len(data) // 2])
    items = list(read_documents(str(path)))
    assert [d.id for d in items if isinstance(d, Document)] == [json.loads(line)["id"] for line in complete]
    broken = items[-1]
    assert isinstance(broken, Quarantined) and broken.line == len(complete) + 1
    assert broken.reason.startswith(f"unreadable after line {len(complete)}: TruncatedError")
    assert broken.raw == rest and rest  # the unfinished line's bytes are kept, not lost


def test_gzip_members_and_zero_padding_are_read_whole(tmp_path: Path) -> None:
    first = [json.dumps({"id": f"a{i}", "text": "first member"}) for i in range(3)]
    second = [json.dumps({"id": f"b{i}", "text": "second member"}) for i in range(2)]
    path = tmp_path / "members.jsonl.gz"
    path.write_bytes(gzip.compress(("\n".join(first) + "\n").encode()) + b"\x00" * 7
                     + gzip.compress(("\n".join(second) + "\n").encode()) + b"\x00" * 3)
    assert [d.id for d in read_documents(str(path))] == ["a0", "a1", "a2", "b0", "b1"]


@pytest.mark.parametrize("garbage", [b"oops\n", b"trailing bytes that no decompressor takes for a header" * 40])
@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_bytes_after_the_last_member_are_named_as_trailing_not_as_truncation(tmp_path: Path, garbage: bytes,
                                                                             suffix: str) -> None:
    content = b"".join(json.dumps({"id": f"t{i}", "text": "a whole member"}).encode() + b"\n" for i in range(3))
    packed = gzip.compress(content) if suffix == ".gz" else zstandard.ZstdCompressor().compress(content)
    path = tmp_path / f"trailing.jsonl{suffix}"
    path.write_bytes(packed + garbage)
    *documents, last = read_documents(str(path))
    assert [d.id for d in documents] == ["t0", "t1", "t2"]  # nothing of the member lost
    member = "gzip member" if suffix == ".gz" else "zstd frame"
    assert isinstance(last, Quarantined) and last.line == 4
    assert last.reason == (f"unreadable after line 3: TrailingDataError: the data after its last {member} is not a "
                           f"{member} (trailing bytes)")


def _lines_python_reads(path: Path) -> list[bytes]:
    """The complete lines that Python's gzip module reads from ``path`` before it raises."""
    got: list[bytes] = []
    with pytest.raises((OSError, EOFError, zlib.error)), gzip.open(path, "rb") as f:
        for line in f:
            got.append(line)
    return [line for line in got if line.endswith(b"\n")]


def _unfinished_line(member: bytes) -> bytes:
    """What follows the last newline in the content that zlib decodes from a damaged gzip ``member`` fed a byte at
    a time, before it raises."""
    stream, out = zlib.decompressobj(wbits=31), []
    with pytest.raises(zlib.error):
        for at in range(len(member)):
            out.append(stream.decompress(member[at:at + 1]))
    content = b"".join(out)
    return content[content.rfind(b"\n") + 1:]


def _damaged(data: bytes, at: int, garbage: bytes) -> bytes:
    return data[:at] + garbage + data[at + len(garbage):]


@pytest.mark.parametrize("seed", [0, 2, 4])
def test_a_corrupt_gzip_keeps_every_line_read_before_the_damage(tmp_path: Path, seed: int) -> None:
    # the new-user trial's file: 3,000 lines (30 KB compressed, one 64 KiB chunk) with 20 bytes changed mid-way
    lines = [json.dumps({"id": f"doc-{i}", "text": f"Record {i}: {hashlib.md5(str(i).encode()).hexdigest()[:6]} the "
                                                   "quick brown fox."}) for i in range(3000)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    rng = random.Random(seed)
    path = tmp_path / "corrupt.jsonl.gz"
    path.write_bytes(damaged := _damaged(data, len(data) // 2, bytes(rng.randrange(256) for _ in range(20))))
    complete = _lines_python_reads(path)
    assert len(complete) > 1500  # (seed 2: 1,510 lines; the reader read none of them)
    items = list(read_documents(str(path)))
    broken = items[-1]
    assert len(items) == len(complete) + 1  # one record per line read, then one for the rest
    assert [d.id for d in items[:1400]] == [json.loads(line)["id"] for line in complete[:1400]] \
        == [f"doc-{i}" for i in range(1400)]
    assert isinstance(broken, Quarantined) and broken.line == len(complete) + 1
    assert broken.reason.startswith(f"unreadable after line {len(complete)}: IsalError: ")
    assert broken.raw == _unfinished_line(damaged)  # the unfinished line's bytes are kept


def test_a_corrupt_gzip_keeps_the_lines_of_its_64_kib_chunk_before_the_damage(tmp_path: Path) -> None:
    lines = [json.dumps({"id": str(i), "text": hashlib.sha256(str(i).encode()).hexdigest() * 30}) for i in range(3000)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    assert len(data) > 2 << 16
    path = tmp_path / "corrupt.jsonl.gz"
    path.write_bytes(damaged := _damaged(data, len(data) // 2, bytes(64)))  # zeros in the middle of the deflate stream
    complete = _lines_python_reads(path)
    items = list(read_documents(str(path)))
    assert len(items) == len(complete) + 1 and len(complete) > 1000
    assert [d.id for d in items[:1000]] == [str(i) for i in range(1000)]
    assert isinstance(items[-1], Quarantined) and items[-1].line == len(complete) + 1
    assert items[-1].reason.startswith(f"unreadable after line {len(complete)}: IsalError: ")
    assert items[-1].raw == _unfinished_line(damaged)


def test_a_damaged_second_gzip_member_keeps_the_first_and_what_came_before_the_damage(tmp_path: Path) -> None:
    first = gzip.compress(b"".join(json.dumps({"id": f"a{i}", "text": f"first {i}"}).encode() + b"\n"
                                   for i in range(100)))
    second = gzip.compress(b"".join(json.dumps({"id": f"b{i}", "text": f"second {i} " * 20}).encode() + b"\n"
                                    for i in range(2000)))
    path = tmp_path / "members.jsonl.gz"
    path.write_bytes(first + b"\x00" * 5 + (damaged := _damaged(second, len(second) // 2, bytes(64))))
    complete = _lines_python_reads(path)  # (it skips the zeros between members too)
    items = list(read_documents(str(path)))
    assert len(items) == len(complete) + 1 and len(complete) >= 1100
    assert [d.id for d in items[:1100]] == [f"a{i}" for i in range(100)] + [f"b{i}" for i in range(1000)]
    assert isinstance(items[-1], Quarantined) and items[-1].line == len(complete) + 1
    assert items[-1].reason.startswith(f"unreadable after line {len(complete)}: IsalError: ")
    assert items[-1].raw == _unfinished_line(damaged)


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


def test_a_corrupt_zstd_keeps_every_line_read_before_the_damage(tmp_path: Path) -> None:
    lines = [json.dumps({"id": f"z{i}", "text": f"line {i} {hashlib.sha1(str(i).encode()).hexdigest()} of a zstd file"})
             for i in range(6000)]
    content = ("\n".join(lines) + "\n").encode()
    data = zstandard.ZstdCompressor().compress(content)
    path = tmp_path / "corrupt.jsonl.zst"
    path.write_bytes(damaged := _damaged(data, len(data) // 2 + 1000, bytes(2000)))
    reader, decoded = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(damaged)), []
    with pytest.raises(zstandard.ZstdError, match="Data corruption"):
        while piece := reader.read(1):  # what zstandard's stream reader decodes, a byte at a time
            decoded.append(piece)
    readable = b"".join(decoded)
    assert content.startswith(readable) and readable.count(b"\n") == 2842  # (the reader used to read 1,433)
    items = list(read_documents(str(path)))
    assert [d.id for d in items[:-1]] == [f"z{i}" for i in range(2842)]
    assert isinstance(items[-1], Quarantined) and items[-1].reason.startswith("unreadable after line 2842: ZstdError")
    unfinished = items[-1].raw  # the next line's first bytes (the stream reader keeps back its last byte)
    assert lines[2842].encode().startswith(unfinished) and unfinished.startswith(readable[readable.rfind(b"\n") + 1:])


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


def read_in_ranges(url: str, size: int, step: int) -> list[Document | Quarantined]:
    """The records of ``url`` read as ranges of ``step`` content bytes, renumbered as a job renumbers them."""
    records: list[Document | Quarantined] = []
    before = 0
    for start in range(0, size, step):
        part = DocumentRange(url, start, None if start + step >= size else start + step)
        records += [renumbered(r, before) for r in part]
        before += part.lines
    return records


MIXED = [
    json.dumps({"id": "a", "text": "Call me Ishmael."}).encode(),
    b"",
    b'{"id": "b", "text": "unterminated',
    json.dumps({"id": "c", "text": "Some years ago\u2014never mind how long precisely" * 20}).encode(),
    b'{"id": "d", "text": "caf\xe9"}',
    b"   ",
    json.dumps({"id": "e", "text": "x"}).encode(),
]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_ranges_that_tile_a_file_read_what_the_whole_file_reads(tmp_path: Path, suffix: str) -> None:
    content = b"".join(line + b"\n" for line in MIXED) + b'{"id": "f", "text": "no newline at the end"}'
    path = tmp_path / f"docs{suffix}"
    path.write_bytes(gzip.compress(content) if suffix.endswith(".gz") else
                     zstandard.ZstdCompressor().compress(content) if suffix.endswith(".zst") else content)
    whole = list(read_documents(str(path)))
    assert [(type(r).__name__, r.line) for r in whole] == [
        ("Document", 1), ("Quarantined", 3), ("Document", 4), ("Quarantined", 5), ("Document", 7), ("Document", 8)]
    for step in (1, 2, 7, 50, 333, len(content) - 1, len(content), 10 * len(content)):
        ranged = read_in_ranges(str(path), len(content), step)
        assert ranged == whole, step
        assert [r.line for r in ranged] == [r.line for r in whole], step  # Document.line is left out of ==


def test_ranges_of_a_corrupt_gzip_read_what_the_whole_file_reads(tmp_path: Path) -> None:
    lines = [json.dumps({"id": f"doc-{i}", "text": f"Record {i} of a damaged file."}) for i in range(3000)]
    data = gzip.compress(("\n".join(lines) + "\n").encode())
    path = tmp_path / "corrupt.jsonl.gz"
    path.write_bytes(_damaged(data, len(data) // 2, bytes(random.Random(2).randrange(256) for _ in range(20))))
    whole = list(read_documents(str(path)))
    assert len(whole) == len(_lines_python_reads(path)) + 1 > 1000
    for step in (10_000, 40_000, 10 ** 6):
        ranged = read_in_ranges(str(path), 3000 * 60, step)
        assert ranged == whole and [r.line for r in ranged] == [r.line for r in whole], step


def test_a_range_numbers_its_lines_from_its_first_and_counts_them(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [json.dumps({"id": str(i), "text": "t"}).encode() for i in range(4)]
                       + [b"", b"oops"])
    first = len(path.read_bytes().split(b"\n")[0]) + 1  # where line 2 starts
    part = DocumentRange(str(path), first - 1, first + 1)  # the byte before line 2, and its first byte
    assert [(r.id, r.line) for r in part if isinstance(r, Document)] == [("1", 1)] and part.lines == 1
    rest = DocumentRange(str(path), first + 1, None)
    records = list(rest)
    assert [r.line for r in records] == [1, 2, 4] and rest.lines == 4  # lines 3, 4, (blank) 5, 6 of the file
    quarantined = [(q.line, q.reason) for q in records if isinstance(q, Quarantined)]
    assert quarantined == [(4, "invalid JSON (Expecting value at column 1)")]
    assert renumbered(records[-1], 2).line == 6  # type: ignore[arg-type]


def test_a_truncated_file_is_reported_unreadable_once_by_the_range_where_it_breaks(tmp_path: Path) -> None:
    lines = [json.dumps({"id": str(i), "text": hashlib.sha256(str(i).encode()).hexdigest() * 30}).encode()
             for i in range(2000)]  # 4 MB that compress little, so that the reader gets through part of it
    content = b"".join(line + b"\n" for line in lines)
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(gzip.compress(content)[:-2000])
    whole = list(read_documents(str(path)))
    broken = whole[-1]
    assert isinstance(broken, Quarantined) and broken.reason.startswith(f"unreadable after line {broken.line - 1}: ")
    assert 1 < broken.line < 2000
    for step in (99_991, 1_000_003, len(content) // 3):
        ranged = read_in_ranges(str(path), len(content), step)
        assert ranged == whole, step


def test_a_folder_of_checkpoints_is_not_read_as_documents(tmp_path: Path) -> None:
    step = tmp_path / "run" / "checkpoints" / "step000003"
    step.mkdir(parents=True)
    (step / "manifest.json").write_text("{}")
    (step / "model.safetensors").write_bytes(b"")
    (tmp_path / "run" / "metrics.jsonl").write_text('{"step": 1, "loss": 9.1}\n')  # JSON lines, but no documents
    with pytest.raises(ConfigError, match=r"holds model checkpoints \(manifest.json\), not documents"):
        document_files(str(tmp_path / "run"))


def test_a_record_s_other_top_level_fields_are_kept_and_written_back() -> None:
    record = {"id": "1", "text": "t", "source": "s", "lang": "en", "attributes": {"a": [[0, 1, 1.0]]}}
    document = Document.from_json(record)
    assert document.extra == {"lang": "en", "attributes": {"a": [[0, 1, 1.0]]}}
    assert document.to_json() == record
    assert Document.from_json({"id": "2", "text": "u"}).extra == {}
