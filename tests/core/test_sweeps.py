"""The pieces of a command's sweep: which keys it varies, where its jobs write, and the comparison's table."""

from __future__ import annotations

from olmo_core.overrides import swept_values
from olmo_core.pipeline.compare import comparison_table, differing
from olmo_core.sweeps import SweepJob


def test_swept_values_are_a_jobs_overrides_less_the_fixed_keys_as_typed() -> None:
    task = ["input=ds", "output=out", "exclude=['length < 100']", "olmo/data/taggers@taggers=[pii]", "shard=0/2"]
    fixed = ["input", "output"]
    assert swept_values(task, fixed) == {"exclude": "['length < 100']", "taggers": "[pii]", "shard": "0/2"}
    assert swept_values(task, [*fixed, "olmo/data/taggers", "exclude"]) == {"shard": "0/2"}


def test_where_a_sweep_job_writes_its_data() -> None:
    shards = SweepJob(num=1, label="shard=1_2", values={"shard": "1/2"})
    rules = SweepJob(num=0, label="exclude=_length_100_", values={"exclude": "['length < 100']"})
    both = SweepJob(num=3, label="exclude=_length_100_,shard=1_2",
                    values={"shard": "1/2", "exclude": "['length < 100']"})
    assert shards.directory("out/") == "out/1-shard=1_2" and shards.shards_only and shards.split
    assert not rules.shards_only and not rules.split
    assert not both.shards_only and both.split and both.group() == "exclude=_length_100_"
    assert SweepJob(num=0, label="", values={}).directory("out") == "out/0-defaults"


def test_comparison_table_formats_escapes_and_marks_missing_values() -> None:
    rows = {"0-a": {"x": 1, "y": 0.123456, "rule": "a | b"}, "1-b": {"x": 1, "y": 2.0}}
    assert differing(rows) == ["y", "rule"]
    assert comparison_table("job", rows, ["x", "y", "rule"]) == [
        "| job | x | y | rule |", "|---|---|---|---|", "| 0-a | 1 | 0.1235 | a \\| b |", "| 1-b | 1 | 2 | - |"]
