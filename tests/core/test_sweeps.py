"""The pieces of a command's sweep: which keys it varies, where its jobs write, and the comparison's table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from olmo_core.errors import ConfigError
from olmo_core.overrides import swept_values
from olmo_core.pipeline.compare import comparison_table, differing
from olmo_core.jobs import JobResult
from olmo_core.sweeps import (SweepJob, check_own_directory, job_label, record_job, swept_overrides,
                              write_sweep_comparison)


def test_swept_values_are_a_jobs_overrides_less_the_fixed_keys_as_typed() -> None:
    task = ["input=ds", "output=out", "exclude=['length < 100']", "olmo/data/taggers@taggers=[pii]", "shard=0/2"]
    fixed = ["input", "output"]
    assert swept_values(task, fixed) == {"exclude": "['length < 100']", "taggers": "[pii]", "shard": "0/2"}
    assert swept_values(task, [*fixed, "olmo/data/taggers", "exclude"]) == {"shard": "0/2"}


def test_a_sweep_job_is_named_by_its_swept_overrides_as_typed() -> None:
    """Not by the group path that Hydra receives (``olmo/eval/tasks@tasks=...``), which no user types."""
    task = ["output=out", "olmo/eval/tasks@tasks=[sciq,copa]", "limit=5", "olmo/pipeline=smoke"]
    fixed = ["output"]
    assert swept_overrides(task, fixed) == ["limit=5", "pipeline=smoke", "tasks=[sciq,copa]"]
    assert job_label(task, fixed) == "limit=5,pipeline=smoke,tasks=_sciq,copa_"
    assert job_label(task, [*fixed, "olmo/eval/tasks", "olmo/pipeline"]) == "limit=5"
    assert job_label(["exclude=['length < 100']", "shard=1/2"], []) == "exclude=_length_100_,shard=1_2"


def test_where_a_sweep_job_writes_its_data() -> None:
    shards = SweepJob(num=1, label="shard=1_2", values={"shard": "1/2"})
    rules = SweepJob(num=0, label="exclude=_length_100_", values={"exclude": "['length < 100']"})
    both = SweepJob(num=3, label="exclude=_length_100_,shard=1_2",
                    values={"shard": "1/2", "exclude": "['length < 100']"})
    assert shards.directory("out/") == "out/shard=1_2" and shards.shards_only and shards.split
    assert not rules.shards_only and not rules.split
    assert not both.shards_only and both.split and both.group() == "exclude=_length_100_"
    assert SweepJob(num=0, label="", values={}).directory("out") == "out/defaults"
    assert SweepJob(num=5, label="shard=1_2", values={"shard": "1/2"}).directory("out") == "out/shard=1_2"  # not by
    # its place in the sweep: the same values find the same directory when the sweep is run again in another order


def test_a_sweep_jobs_directory_given_back_as_a_value_is_quoted_as_the_error_shows() -> None:
    """Job directories keep Hydra's ``key=value``: unquoted, a later ``checkpoint=<dir>`` is refused with the
    quoted form, which reads back as the directory."""
    from olmo_core.errors import UsageError
    from olmo_core.overrides import parse_overrides

    workdir = SweepJob(num=0, label="optim.lr=0.001", values={"optim.lr": "0.001"}).directory("/tmp/x")
    with pytest.raises(UsageError, match=f"as in \"checkpoint='{workdir}'\""):
        parse_overrides([f"checkpoint={workdir}"])
    assert parse_overrides([f"checkpoint='{workdir}'"])[0].value() == workdir == "/tmp/x/optim.lr=0.001"


def test_two_sweep_jobs_whose_values_name_one_directory_are_refused(tmp_path: Path) -> None:
    first = SweepJob(num=0, label="x=a_b", values={"x": "a/b"})
    second = SweepJob(num=1, label="x=a_b", values={"x": "a_b"})
    workdir = first.directory(str(tmp_path))
    check_own_directory(workdir, first)
    record_job(workdir, first)
    check_own_directory(workdir, first)  # the same job, run again
    with pytest.raises(ConfigError, match=r"the sweep job \{'x': 'a_b'\} would work in .*x=a_b, where the job "
                                          r"\{'x': 'a/b'\} ran"):
        check_own_directory(second.directory(str(tmp_path)), second)


def test_comparison_table_formats_escapes_and_marks_missing_values() -> None:
    rows = {"0-a": {"x": 1, "y": 0.123456, "rule": "a | b"}, "1-b": {"x": 1, "y": 2.0}}
    assert differing(rows) == ["y", "rule"]
    assert comparison_table("job", rows, ["x", "y", "rule"]) == [
        "| job | x | y | rule |", "|---|---|---|---|", "| 0-a | 1 | 0.1235 | a \\| b |", "| 1-b | 1 | 2 | - |"]
    close = {"a": {"loss": 11.31472}, "b": {"loss": 11.31161}, "c": {"loss": 11.31472}}  # 11.31 at 4 digits
    assert comparison_table("job", close, ["loss"])[2:] == ["| a | 11.315 |", "| b | 11.312 |", "| c | 11.315 |"]


def _ended_job(base: Path, num: int, lr: str, loss: float | None, error: str | None = None) -> None:
    """A finished training job of a sweep over ``optim.lr`` (or a failed one, with ``error``)."""
    job = SweepJob(num=num, label=f"optim.lr={lr}", values={"optim.lr": lr})
    workdir = base / job.directory("")[1:]
    workdir.mkdir(parents=True)
    if error is None:
        (workdir / "metrics.jsonl").write_text("".join(json.dumps({"step": s, "loss": loss + 1 / s}) + "\n"
                                                       for s in (1, 2)))
        result = JobResult(metrics={"final_loss": loss, "steps": 2, "metrics": str(workdir / "metrics.jsonl")})
        (workdir / "result.json").write_text(json.dumps(result.to_json()))
    record_job(str(workdir), job, error)


def test_a_sweep_of_training_compares_the_figures_that_differ_and_the_loss_curves(tmp_path: Path) -> None:
    _ended_job(tmp_path, 0, "0.001", 9.5)
    _ended_job(tmp_path, 1, "0.003", 8.25)
    report = write_sweep_comparison(str(tmp_path))
    assert report == f"{tmp_path}/comparison.md"
    lines = Path(report).read_text().splitlines()
    assert lines[2] == "2 jobs, over optim.lr; the results that differ between them:"
    assert lines[4:8] == ["| job | optim.lr | final_loss |", "|---|---|---|",
                          "| optim.lr=0.001 | 0.001 | 9.5 |", "| optim.lr=0.003 | 0.003 | 8.25 |"]  # steps: the same
    assert lines[-1] == "![training loss](comparison_loss.png)" and (tmp_path / "comparison_loss.png").is_file()
    summary = json.loads((tmp_path / "comparison.json").read_text())
    assert [job["results"]["final_loss"] for job in summary["jobs"]] == [9.5, 8.25]
    _ended_job(tmp_path, 2, "bad", None, error="optim.lr must be a number")
    lines = Path(write_sweep_comparison(str(tmp_path)) or "").read_text().splitlines()
    assert lines[2] == "3 jobs, over optim.lr, 1 of them failed; the results that differ between them:"
    assert lines[-3] == "| optim.lr=bad | bad | - | optim.lr must be a number |"


def test_a_swept_key_that_the_jobs_also_report_is_one_column(tmp_path: Path) -> None:
    """``olmo eval downstream -m limit=5,10``: each job reports its ``limit`` among its results."""
    for num, limit, accuracy in ((0, 5, 0.4), (1, 10, 0.5)):
        job = SweepJob(num=num, label=f"limit={limit}", values={"limit": str(limit)})
        workdir = tmp_path / job.label
        workdir.mkdir()
        result = JobResult(metrics={"limit": limit, "seed": 1234, "accuracy": accuracy})
        (workdir / "result.json").write_text(json.dumps(result.to_json()))
        record_job(str(workdir), job)
    lines = Path(write_sweep_comparison(str(tmp_path)) or "").read_text().splitlines()
    assert lines[4:8] == ["| job | limit | accuracy |", "|---|---|---|", "| limit=5 | 5 | 0.4 |",
                          "| limit=10 | 10 | 0.5 |"]


def _filter_sweep(olmo_cli: Any, input: Path, output: Path, rules: tuple[str, ...]) -> None:
    """``olmo data filter`` of ``input`` into ``output``, one sweep job per rule of ``rules``."""
    swept = olmo_cli("data", "filter", f"input={input}", f"output={output}", "-m",
                     "exclude=" + ",".join(f"['{rule}']" for rule in rules))
    assert swept.exit_code == 0, swept.err


def test_a_sweeps_comparison_leaves_out_the_jobs_of_an_earlier_sweep_in_its_output(
        dataset: Path, tmp_path: Path, olmo_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    _filter_sweep(olmo_cli, dataset, out, ("length < 100", "length < 1000"))
    _filter_sweep(olmo_cli, dataset, out, ("length < 200", "length < 2000", "length < 100"))
    assert (out / "exclude=_length_1000_" / "result.json").is_file()  # the earlier sweep's job, kept
    summary = json.loads((out / "comparison.json").read_text())
    assert [job["values"]["exclude"] for job in summary["jobs"]] == [
        "['length < 200']", "['length < 2000']", "['length < 100']"]  # this sweep's jobs, by their number in it
    rows = [line for line in (out / "comparison.md").read_text().splitlines() if line.startswith("| exclude=")]
    assert [row.split(" | ")[0] for row in rows] == [
        "| exclude=_length_200_", "| exclude=_length_2000_", "| exclude=_length_100_"]
    assert (out / "comparison.md").read_text().splitlines()[2].startswith("3 jobs, over exclude;")
    _filter_sweep(olmo_cli, dataset, out, ("length < 1000",))  # one job compares nothing: the last comparison stays
    assert json.loads((out / "comparison.json").read_text()) == summary
