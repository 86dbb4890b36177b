"""The pipeline runs registered jobs in order, wires inputs by artifact type, resumes and reports."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from olmo_core import components, hookimpl
from olmo_core.artifacts import Dataset
from olmo_core.jobs import Job, JobResult, Report, Slot


@dataclass(kw_only=True)
class WriteConfig:
    words: int = 3
    fail: bool = False


class WriteJob(Job):
    """Writes a dataset of one document of ``words`` words."""

    command = "toy write"
    outputs: ClassVar[dict[str, Slot]] = {"dataset": Slot(Dataset)}
    runs: ClassVar[list[str]] = []

    def run(self, config: WriteConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        WriteJob.runs.append("write")
        if config.fail:
            raise RuntimeError("write failed on purpose")
        docs = Path(workdir) / "documents"
        docs.mkdir(parents=True, exist_ok=True)
        (docs / "part.jsonl").write_text(json.dumps({"id": "0", "text": "word " * config.words}) + "\n")
        return JobResult(outputs={"dataset": Dataset(path=workdir)}, metrics={"words": config.words})

    def report(self, result: JobResult) -> Report:
        return Report(markdown=f"## Write\n\nwrote {result.metrics['words']} words")


@dataclass(kw_only=True)
class CountConfig:
    factor: int = 1


class CountJob(Job):
    """Counts the words of every dataset before it."""

    command = "toy count"
    inputs: ClassVar[dict[str, Slot]] = {"input": Slot(Dataset, many=True)}
    outputs: ClassVar[dict[str, Slot]] = {}

    def run(self, config: CountConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        WriteJob.runs.append("count")
        words = sum(len(json.loads((Path(d.path) / "documents" / "part.jsonl").read_text())["text"].split())
                    for d in inputs["input"])
        return JobResult(metrics={"total": words * config.factor, "datasets": len(inputs["input"])})


class JobsPlugin:
    @hookimpl
    def olmo_register_jobs(self, register: Any) -> None:
        register("write", WriteJob, config=WriteConfig, presets={"more": WriteConfig(words=5)})
        register("count", CountJob, config=CountConfig)


@pytest.fixture
def runs(register_plugin: Any) -> list[str]:
    register_plugin(JobsPlugin(), "jobs-plugin")
    WriteJob.runs = []
    return WriteJob.runs


def _result(stage_dir: Path) -> dict[str, Any]:
    return json.loads((stage_dir / "result.json").read_text())


def test_jobs_run_in_order_wired_by_type_and_resume(runs: list[str], olmo_cli: Any, tmp_path: Path) -> None:
    args = ("pipeline", "name=t", f"runs_dir={tmp_path}", "stages=[write,more,count,report]")
    assert olmo_cli(*args).exit_code == 0
    assert runs == ["write", "write", "count"]
    run = tmp_path / "t"
    assert _result(run / "stages" / "02-count")["metrics"] == {"total": 8, "datasets": 2}
    assert _result(run / "stages" / "01-more")["outputs"]["dataset"] == {"type": "dataset",
                                                                          "path": str(run / "stages" / "01-more")}
    report = (run / "report.md").read_text()
    assert "## Write\n\nwrote 3 words" in report and "| count | total: 8; datasets: 2 |" in report
    assert "olmo pipeline name=t" in report
    assert json.loads((run / "config.json").read_text())["stages"]["more"]["_name_"] == "write"

    second = olmo_cli(*args)
    assert second.exit_code == 0 and runs == ["write", "write", "count"]
    assert "1 stages ran, 3 reused" in second.err  # the report is always written again

    assert olmo_cli(*args, "stages.more.words=7").exit_code == 0
    assert runs == ["write", "write", "count", "write", "count"]
    assert _result(run / "stages" / "02-count")["metrics"]["total"] == 10


def test_explicit_inputs_name_earlier_stages_or_paths(runs: list[str], olmo_cli: Any, tmp_path: Path) -> None:
    args = ("pipeline", "name=e", f"runs_dir={tmp_path}", "stages=[write,more,count]")
    assert olmo_cli(*args, "inputs.count.input=[more]").exit_code == 0
    assert _result(tmp_path / "e" / "stages" / "02-count")["metrics"] == {"total": 5, "datasets": 1}
    bad = olmo_cli(*args, "inputs.count.inputz=[more]")
    assert bad.exit_code == 2 and "job 'count' has no input 'inputz' (it has: input)" in bad.err
    del runs[:]
    missing = olmo_cli(*args, f"inputs.count.input=[{tmp_path / 'nope'}]", "name=m")
    assert missing.exit_code == 2 and runs == []  # refused before the first stage, not when count's turn comes
    assert f"inputs.count.input: {tmp_path / 'nope'} does not exist" in missing.err


def test_a_job_whose_input_nothing_makes_fails_before_anything_runs(runs: list[str], olmo_cli: Any,
                                                                      tmp_path: Path) -> None:
    result = olmo_cli("pipeline", "name=n", f"runs_dir={tmp_path}", "stages=[count,write]")
    assert result.exit_code == 2 and runs == []
    assert "stage 'count' needs a dataset for its input 'input' and no stage before it makes one" in result.err


def test_a_typo_in_a_stage_key_fails_before_anything_runs(runs: list[str], olmo_cli: Any, tmp_path: Path) -> None:
    result = olmo_cli("pipeline", "name=x", f"runs_dir={tmp_path}", "stages=[write,count]", "stages.count.factr=2")
    assert result.exit_code == 2 and runs == [] and "factr" in result.err
    assert not (tmp_path / "x").exists()


def test_failed_job_is_where_the_next_run_starts(runs: list[str], olmo_cli: Any, tmp_path: Path) -> None:
    args = ("pipeline", "name=f", f"runs_dir={tmp_path}", "stages=[write,count]")
    failed = olmo_cli(*args, "stages.write.fail=true")
    assert failed.exit_code == 1 and "write failed on purpose" in failed.err
    assert (tmp_path / "f" / "stages" / "00-write" / ".incomplete").exists()
    assert not (tmp_path / "f" / "stages" / "00-write" / "done.json").exists()
    assert olmo_cli(*args).exit_code == 0
    assert runs == ["write", "write", "count"]


def test_a_job_that_runs_again_reruns_every_later_job(runs: list[str], olmo_cli: Any, tmp_path: Path) -> None:
    args = ("pipeline", "name=r", f"runs_dir={tmp_path}", "stages=[write,count]")
    assert olmo_cli(*args).exit_code == 0
    shutil.rmtree(tmp_path / "r" / "stages" / "00-write")
    assert olmo_cli(*args).exit_code == 0
    assert runs == ["write", "count", "write", "count"]


def test_the_same_job_is_a_command_with_inputs_as_paths(runs: list[str], olmo_cli: Any, tmp_path: Path) -> None:
    assert olmo_cli("toy", "write", f"output={tmp_path / 'a'}", "words=4").exit_code == 0
    assert olmo_cli("toy", "write", f"output={tmp_path / 'b'}").exit_code == 0
    result = olmo_cli("toy", "count", f"input=[{tmp_path / 'a'},{tmp_path / 'b'}]", f"output={tmp_path / 'c'}",
                      "factor=2")
    assert result.exit_code == 0, result.err
    assert _result(tmp_path / "c")["metrics"] == {"total": 14, "datasets": 2}
    assert (tmp_path / "a" / "report.md").read_text() == "## Write\n\nwrote 4 words\n"
    missing = olmo_cli("toy", "write")
    assert missing.exit_code == 2 and "`olmo toy write` needs output=<directory>" in missing.err


def test_a_sweep_gives_each_job_its_directory_and_a_comparison(runs: list[str], olmo_cli: Any, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = olmo_cli("pipeline", "-m", "name=sweep", f"runs_dir={tmp_path}", "stages=[write,count]",
                      "stages.write.words=2,7")
    assert result.exit_code == 0, result.err
    sweep = tmp_path / "sweep"
    jobs = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert jobs == ["stages.write.words=2", "stages.write.words=7"]
    table = (sweep / "comparison.md").read_text()
    assert "| run | write.words | count.total |" in table
    assert "| stages.write.words=2 | 2 | 2 |" in table and "| stages.write.words=7 | 7 | 7 |" in table
    commands = olmo_cli("toy", "write", "-m", f"output={tmp_path / 'w'}", "words=1,2")
    assert commands.exit_code == 0, commands.err
    assert sorted(p.name for p in (tmp_path / "w").iterdir() if p.is_dir()) == ["words=1", "words=2"]
    assert (tmp_path / "w" / "comparison.md").is_file()  # the jobs' results differ


@dataclass(kw_only=True)
class NeedsGhost:
    stages: Any = components("jobs", default=["report", "ghost"], providers={"ghost": "olmo-ghost-jobs"})


def test_missing_default_names_the_package_to_install(register_plugin: Any, olmo_cli: Any) -> None:
    class Ghostly:
        @hookimpl
        def olmo_register_commands(self, register: Any) -> None:
            register("haunt", lambda config: None, config=NeedsGhost)

    register_plugin(Ghostly(), "ghostly")
    result = olmo_cli("haunt")
    assert result.exit_code == 2
    assert result.err == ("error: `olmo haunt` uses the job 'ghost' by default, which no installed plugin registers: "
                          "install olmo-ghost-jobs (`uv pip install olmo-ghost-jobs`), or choose others with "
                          "stages=...\n")
    assert olmo_cli("haunt", "stages=[report]").exit_code == 0
