"""Saved bucket hashes: sorted per file, a partition's slice read alone and exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from olmo_core.errors import ConfigError

from olmo_data.dedup import buckets
from olmo_data.dedup.buckets import partition_bounds, partition_of, read_partition, write_buckets

CONFIG = {"name": "exact"}


def test_partition_bounds_split_the_hash_space_evenly() -> None:
    assert partition_bounds(1) == [0, 2**64]
    assert partition_bounds(4) == [0, 2**62, 2**63, 3 * 2**62, 2**64]
    assert partition_bounds(3) == [0, 6148914691236517206, 12297829382473034411, 2**64]  # ceil(i * 2**64 / 3)
    hashes = np.array([0, 6148914691236517205, 6148914691236517206, 2**63, 12297829382473034411, 2**64 - 1],
                      dtype=np.uint64)
    assert partition_of(hashes, 3).tolist() == [0, 0, 1, 1, 2, 2]
    assert partition_of(hashes, 1).tolist() == [0] * 6


def test_buckets_file_layout(tmp_path: Path) -> None:
    url = str(tmp_path / "f.buckets")
    hashes = [np.array([9, 2**63], dtype=np.uint64), np.zeros(0, dtype=np.uint64), np.array([9, 3], dtype=np.uint64)]
    write_buckets(url, hashes, file="a.jsonl.gz", config=CONFIG, key="k")
    data = Path(url).read_bytes()
    line, rest = data.split(b"\n", 1)
    header = json.loads(line)
    assert header == {"olmo-dedup-buckets": 1, "file": "a.jsonl.gz", "config": CONFIG, "key": "k", "documents": 3,
                      "pairs": 4, "prefix_bits": 0}
    offsets, sorted_hashes, documents = np.frombuffer(rest[:16], "<u8"), np.frombuffer(rest[16:48], "<u8"), \
        np.frombuffer(rest[48:], "<u4")
    assert offsets.tolist() == [0, 4]
    assert sorted_hashes.tolist() == [3, 9, 9, 2**63]
    assert documents.tolist() == [2, 0, 2, 0]  # ascending among the equal hashes 9


def test_a_partition_reads_exactly_its_pairs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buckets, "PAIRS_PER_PREFIX", 4)  # 2**9 index values for 2,000 pairs: many boundaries
    rng = np.random.default_rng(7)
    hashes = [rng.integers(0, 2**64 - 1, size=int(n), dtype=np.uint64, endpoint=True)
              for n in rng.integers(0, 8, size=500)]
    hashes[3] = np.array([0, 2**64 - 1, 2**63], dtype=np.uint64)  # the extremes and a bound of N = 2 and 4
    url = str(tmp_path / "f.buckets")
    write_buckets(url, hashes, file="f", config=CONFIG, key="k")
    flat = np.concatenate(hashes)
    owner = np.repeat(np.arange(len(hashes)), [len(h) for h in hashes])
    for count in (1, 2, 3, 4, 7, 64):
        seen = []
        for index in range(count):
            part = read_partition(url, index, count, name="exact", config=CONFIG)
            assert part.documents == 500 and part.key == "k"
            assert (np.diff(part.hashes.astype(np.float64)) >= 0).all()
            assert (partition_of(part.hashes, count) == index).all()
            seen += list(zip(part.hashes.tolist(), part.positions.tolist(), strict=True))
        assert sorted(seen) == sorted(zip(flat.tolist(), owner.tolist(), strict=True)), count


def test_a_buckets_file_of_other_settings_is_refused(tmp_path: Path) -> None:
    url = str(tmp_path / "f.buckets")
    write_buckets(url, [np.array([1], dtype=np.uint64)], file="f", config=CONFIG, key="k")
    with pytest.raises(ConfigError, match="computed with other exact settings than this run's .*: run phase=features "
                                          "again with these settings"):
        read_partition(url, 0, 1, name="exact", config={"name": "exact", "urls": False})
    Path(url).write_bytes(b"{}\n")
    with pytest.raises(ConfigError, match="not a dedup buckets file"):
        read_partition(url, 0, 1, name="exact", config=CONFIG)
