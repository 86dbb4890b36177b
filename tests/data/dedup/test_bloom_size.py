"""The paragraph Bloom filter is sized from the input: n = the paragraphs checked, at the configured rate."""

from __future__ import annotations

import json
import math

import numpy as np
from pathlib import Path
from typing import Any

from olmo_core.documents import Document

from olmo_data.dedup.base import DedupContext
from olmo_data.dedup.bloom import BloomConfig, BloomDeduper
from tests.data.dedup.conftest import copy, source_documents, write_dataset


def checked_paragraphs(texts: list[str]) -> int:
    """Lines of at least 20 characters once runs of whitespace are one space and the ends stripped."""
    return sum(len(" ".join(line.split())) >= 20 for text in texts for line in text.split("\n"))


def sized(n: int, p: float) -> tuple[int, int]:
    """Bits (whole bytes) and hashes of a filter for n items at rate p: m = -n ln p / (ln 2)^2, k = m / n ln 2."""
    m = -n * math.log(p) / math.log(2) ** 2
    return 8 * math.ceil(math.floor(m) / 8), math.floor(m / n * math.log(2))


def test_a_new_filter_takes_its_size_from_the_context(tmp_path: Path) -> None:
    for n in (1000, 250_000):
        deduper = BloomDeduper(BloomConfig())
        assert deduper.sized_by_input
        deduper.begin(DedupContext(str(tmp_path), "bloom", items=n))
        assert deduper.filter is not None
        assert (deduper.filter.bits, deduper.filter.hashes, deduper.filter.expected_items) == (*sized(n, 1e-5), n)
    assert sized(1000, 1e-5) == (23968, 16)  # 23,962.6 bits
    assert not BloomDeduper(BloomConfig(expected_paragraphs=5000)).sized_by_input
    assert not BloomDeduper(BloomConfig(read_only=True, load=str(tmp_path / "f.bloom"))).sized_by_input
    two = BloomDeduper(BloomConfig()).features(Document(id="d", text="a paragraph long enough\nshort\n"
                                                                     "another one, long enough too\n"))
    assert list(np.frombuffer(two[0], dtype="<i8")) == [0, 24, 30, 59]
    assert BloomDeduper(BloomConfig()).items(two) == 2


def test_filter_size_follows_the_paragraphs_of_the_input(tmp_path: Path, run_dedup: Any) -> None:
    pages = list(source_documents("c4")[:60])
    n = checked_paragraphs([d.text for d in pages])
    assert n > 200
    details = {}
    for copies in (1, 2):
        files = {f"part-{c}": [copy(d, f"{c}-{d.id}") for d in pages] for c in range(copies)}
        dataset = write_dataset(tmp_path / f"x{copies}", files)
        run_dedup(dataset, "dedupers=[bloom]")
        details[copies] = json.loads((dataset / "reports" / "dedup-bloom.json").read_text())["details"]
        assert details[copies]["expected_items"] == copies * n
        assert (details[copies]["bits"], details[copies]["hashes"]) == sized(copies * n, 1e-5)
    assert details[2]["items"] == details[1]["items"]  # the second copy adds no paragraph
    two = tmp_path / "x2"
    run_dedup(two, "dedupers=[bloom]", "dedupers.bloom.false_positive_rate=1e-3", "-m", "shard=0/2,1/2")
    run_dedup(two, "dedupers=[bloom]", "dedupers.bloom.false_positive_rate=1e-3", "phase=decide")
    decided = json.loads((two / "reports" / "dedup-bloom.json").read_text())["details"]
    assert (decided["expected_items"], decided["bits"], decided["hashes"]) == (2 * n, *sized(2 * n, 1e-3))
