"""How many parts a gzip file is split into when its trailer's size (ISIZE) cannot be believed: a truncated file
ends in any 4 bytes (a 14.8 KB one declared 2,352,380,955 bytes, and was tagged in 23,524 parts)."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from pathlib import Path
from typing import Any

from olmo_data.parallel import PART_BYTES, Part, split_file


def truncated_gzip(path: Path, lines: int) -> tuple[int, int]:
    """Write a gzip file of ``lines`` documents cut where its last 4 bytes declare more content than deflate can
    hold (over 1,032 bytes per compressed byte); return its size and what it declares."""
    content = b"".join(json.dumps({"id": f"d{i}", "text": f"document {i}: {hashlib.md5(str(i).encode()).hexdigest()}"
                                   " and some words after it"}).encode() + b"\n" for i in range(lines))
    data = gzip.compress(content)
    size = len(data) // 2
    while int.from_bytes(data[size - 4:size], "little") <= 1032 * size:
        size -= 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data[:size])
    return size, int.from_bytes(data[size - 4:size], "little")


def test_a_truncated_gzip_is_split_by_its_guessed_size_not_its_trailer(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    size, declared = truncated_gzip(path, 1500)
    assert 10_000 < size < 25_000 and declared > 1032 * size  # believed, it made ceil(declared / 100_000) parts
    guessed = 4 * size  # four times the compressed size, as for a file that declares no size
    parts = split_file(str(path), 100_000)
    assert len(parts) == math.ceil(guessed / 100_000) == 1 and parts == [Part(str(path))]
    assert len(split_file(str(path), 10_000)) == math.ceil(guessed / 10_000) < 20
    assert split_file(str(path), PART_BYTES) == [Part(str(path))]


def test_a_whole_gzip_is_still_split_by_the_size_its_trailer_declares(tmp_path: Path) -> None:
    content = b"".join(json.dumps({"id": str(i), "text": "the same words again " * 50}).encode() + b"\n"
                       for i in range(2000))
    path = tmp_path / "whole.jsonl.gz"
    path.write_bytes(gzip.compress(content))
    assert len(content) > 100 * path.stat().st_size  # very compressible, yet within what deflate can hold
    assert len(split_file(str(path), 100_000)) == math.ceil(len(content) / 100_000) == 22


def test_a_truncated_gzip_is_tagged_in_few_parts_the_same_for_any_workers(tmp_path: Path, olmo_cli: Any) -> None:
    ds = tmp_path / "ds"
    size, _ = truncated_gzip(ds / "documents" / "cut.jsonl.gz", 1500)
    outputs = {}
    for workers, part_bytes in ((1, 1 << 30), (2, 100_000), (2, 10_000)):
        result = olmo_cli("data", "tag", f"input={ds}", "taggers=[pii]", f"workers={workers}",
                          f"part_bytes={part_bytes}")
        assert result.exit_code == 0, result.err
        report = json.loads((ds / "reports" / "tag.json").read_text())
        assert report["parts"] == math.ceil(4 * size / part_bytes), (workers, part_bytes)
        assert report["quarantined"] == 1 and report["records"] == report["documents"] + 1 > 500
        outputs[workers, part_bytes] = {str(p.relative_to(ds)): p.read_bytes() for p in sorted(ds.rglob("*"))
                                        if p.is_file() and "documents" not in p.parts
                                        and "reports" not in p.parts}
        assert outputs[workers, part_bytes] == outputs[1, 1 << 30]
