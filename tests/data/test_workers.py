"""Shard-parallel processing writes exactly what a single process writes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.conftest import stdlib_documents


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
            and "reports" not in p.parts and p.name not in ("result.json", "report.md", "log.txt")}  # the job's own


def test_tag_and_filter_do_not_depend_on_workers(tmp_path: Path, example_plugin: ModuleType,
                                                 register_plugin: Any, olmo_cli: Any) -> None:
    register_plugin(example_plugin, "example_length")
    records = stdlib_documents()
    outputs = {}
    for workers in (1, 2):
        ds = tmp_path / f"w{workers}" / "ds"
        for shard in range(4):
            target = ds / "documents" / f"shard-{shard}.jsonl.gz"
            target.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(target, "wt", encoding="utf-8") as f:
                f.writelines(json.dumps(r) + "\n" for r in records[shard::4])
        tagged = olmo_cli("data", "tag", f"input={ds}", "taggers=[example_length,pii]", f"workers={workers}")
        assert tagged.exit_code == 0, tagged.err
        out = tmp_path / f"w{workers}" / "out"
        filtered = olmo_cli("data", "filter", f"input={ds}", f"output={out}", f"workers={workers}",
                            "exclude=['example_length__example_length__word_count < 100']")
        assert filtered.exit_code == 0, filtered.err
        outputs[workers] = {**files_of(ds / "attributes"), **files_of(out)}
    assert len(outputs[1]) == 4 * 2 + 4 * 2  # attributes of two taggers, kept and dropped documents per shard
    assert outputs[1] == outputs[2]
