"""``olmo data stats`` over shards: partial counts per shard, merged into what one run writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.data.analysis.conftest import LIMITS


def written(out: Path) -> dict[str, bytes]:
    """``stats.json`` and every figure, by path under ``out``."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and (p.suffix == ".png" or p.name == "stats.json")}


@pytest.mark.slow
def test_sharded_counts_merge_into_the_unsharded_report(analysis: None, corpus: Path, olmo_cli: Any,
                                                        tmp_path: Path) -> None:
    tagged = olmo_cli("data", "tag", f"input={corpus}", "taggers=[language,pii]")
    assert tagged.exit_code == 0, tagged.err
    out = tmp_path / "stats"
    whole = olmo_cli("data", "stats", f"input={corpus}", f"output={out}", "ngrams=[1,2]")
    assert whole.exit_code == 0, whole.err
    expected = written(out)
    for count, figures in ((2, "true"), (3, "false")):  # figures once: drawing them is the slow part
        swept = out.parent / f"stats-{count}"
        shards = ",".join(f"{i}/{count}" for i in range(count))
        counted = olmo_cli("data", "stats", f"input={corpus}", f"output={swept}", "ngrams=[1,2]", "-m",
                           f"shard={shards}")
        assert counted.exit_code == 0, counted.err
        assert f"next: `olmo data stats input={corpus} output={swept} phase=merge ngrams=[1,2]`" in counted.err
        assert sorted(p.name for p in (swept / "partial").iterdir()) == [
            f"stats-shard-{i}-of-{count}.jsonl.gz" for i in range(count)]
        assert not (swept / "stats.json").exists()
        merged = olmo_cli("data", "stats", f"input={corpus}", f"output={swept}", "ngrams=[1,2]", "phase=merge",
                          f"figures={figures}")
        assert merged.exit_code == 0, merged.err
        if figures == "true":
            assert written(swept) == expected
        else:
            assert json.loads((swept / "stats.json").read_text()) | {"figures": []} == \
                json.loads(expected["stats.json"]) | {"figures": []}
    stats = json.loads(expected["stats.json"])
    assert stats["overall"]["documents"] == sum(LIMITS.values()) + 1
    c4 = stats["sources"]["c4"]["duplicates"]["documents"]  # the copy (part-1) and its original (part-0)
    assert (c4["duplicates"], c4["repeated"]) == (1, 1)  # lie in different shards
    assert stats["sources"]["moby-dick"]["languages"]["counts"] == {"en": LIMITS["moby-dick"]}


@pytest.mark.slow
def test_merge_refuses_incomplete_or_mixed_partials(analysis: None, corpus: Path, olmo_cli: Any,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "stats"
    options = ("tokenizer=null", "figures=false", "ngrams=[1]")

    def stats(*args: str) -> Any:
        return olmo_cli("data", "stats", f"input={corpus}", f"output={out}", *options, *args)

    assert stats("shard=0/2").exit_code == 0
    missing = stats("phase=merge")
    assert missing.exit_code == 2 and "2 input files have no partial counts" in missing.err
    assert stats("shard=1/3").exit_code == 0
    mixed = stats("phase=merge")
    assert mixed.exit_code == 2 and "mixes sweeps (shard counts [2, 3]" in mixed.err
    shutil.rmtree(out / "partial")
    assert stats("shard=0/1").exit_code == 0
    other = olmo_cli("data", "stats", f"input={corpus}", f"output={out}", "tokenizer=null", "figures=false",
                     "ngrams=[1,2]", "phase=merge")
    assert other.exit_code == 2 and "merge with the same ngrams" in other.err
    merged = stats("phase=merge")
    assert merged.exit_code == 0, merged.err
    assert json.loads((out / "stats.json").read_text())["overall"]["documents"] == sum(LIMITS.values()) + 1
    for bad, message in (("shard=2/2", "shard='2/2' must look like i/N"),
                         ("shard=one", "shard='one' must look like i/N")):
        refused = stats(bad)
        assert refused.exit_code == 2 and message in refused.err, refused.err
    both = stats("shard=0/2", "phase=merge")
    assert both.exit_code == 2 and "phase=merge takes no shard" in both.err
    unknown = stats("phase=sum")
    assert unknown.exit_code == 2 and "phase='sum' is not one of all, count, merge" in unknown.err
