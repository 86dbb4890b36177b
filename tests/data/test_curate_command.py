"""``olmo data curate`` end to end on real sources, small."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from olmo_core.token_arrays import open_token_array, part_names

pytestmark = pytest.mark.slow

ARGS = ("stages.fetch.sources=[c4,wikipedia,wikipedia-fr,spam-assassin]",
        "stages.fetch.limits={c4: 40, wikipedia: 60, wikipedia-fr: 15, spam-assassin: 60}",
        "stages.stats.tokenizer=null")


def test_curate_runs_every_stage_and_resumes(tmp_path: Path, olmo_cli: Any) -> None:
    result = olmo_cli("data", "curate", "name=small", f"runs_dir={tmp_path}", *ARGS)
    assert result.exit_code == 0, result.err
    run = tmp_path / "small"
    assert sorted(p.name for p in (run / "stages").iterdir()) == [
        "00-fetch", "01-tag", "02-filter", "03-dedup", "04-mix", "05-decontaminate", "06-tokenize", "07-stats"]
    report = json.loads((run / "curate.json").read_text())
    fetched = report["stages"]["fetch"]
    assert {s: r["documents"] for s, r in fetched.items()} == {"c4": 40, "spam-assassin": 60, "wikipedia": 60,
                                                               "wikipedia-fr": 15}
    assert "wikipedia-fr" not in report["stages"]["filter"]  # French leads fail the English rule
    filtered, deduped = report["stages"]["filter"], report["stages"]["dedup"]
    assert all(deduped[s]["documents"] <= filtered[s]["documents"] for s in deduped)
    tokens_dir = run / "stages" / "06-tokenize" / "tokens"
    per_source: dict[str, int] = {}
    for part in part_names(tokens_dir):
        array = open_token_array(part)
        for source, start, end in zip(array.sources, array.starts, array.ends, strict=True):
            per_source[source] = per_source.get(source, 0) + int(end - start)
    tokenized = json.loads((run / "stages" / "06-tokenize" / "done.json").read_text())["result"]
    assert tokenized["tokens_per_source"] == per_source
    assert "| **total** |" in (run / "curate.md").read_text() and (run / "curate.png").read_bytes()[:4] == b"\x89PNG"

    again = olmo_cli("data", "curate", "name=small", f"runs_dir={tmp_path}", *ARGS)
    assert again.exit_code == 0 and "0 stages ran, 8 reused" in again.out
