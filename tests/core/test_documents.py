from __future__ import annotations

import gzip
import json
from pathlib import Path

import zstandard

from olmo_core.documents import Document
from olmo_core.documents import Quarantined, read_documents


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
