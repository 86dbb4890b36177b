"""Running a job in its work directory: the record of a run describes that run only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from olmo_core.artifacts import Checkpoint, Dataset
from olmo_core.errors import ConfigError
from olmo_core.jobs import INCOMPLETE, REPORT, RESULT, Job, JobResult, Report, Slot, execute, read_result


class Flaky(Job):
    """Succeeds with a metric, or fails on purpose."""

    def run(self, config: Any, inputs: Any, workdir: str) -> JobResult:
        if config["fail"]:
            raise RuntimeError("failed on purpose")
        return JobResult(metrics={"value": config["value"]})

    def report(self, result: JobResult) -> Report:
        return Report(markdown=f"value {result.metrics['value']}")


def test_a_run_that_fails_leaves_no_record_of_the_run_before_it(tmp_path: Path) -> None:
    workdir = tmp_path / "job"
    execute(Flaky(), {"fail": False, "value": 1}, {}, str(workdir), name="flaky")
    assert read_result(str(workdir)).metrics == {"value": 1}  # type: ignore[union-attr]
    assert (workdir / REPORT).read_text() == "value 1\n"
    with pytest.raises(RuntimeError, match="failed on purpose"):
        execute(Flaky(), {"fail": True, "value": 2}, {}, str(workdir), name="flaky")
    assert (workdir / INCOMPLETE).exists() and read_result(str(workdir)) is None
    assert not (workdir / RESULT).exists() and not (workdir / REPORT).exists()  # not the first run's, left beside
    execute(Flaky(), {"fail": False, "value": 3}, {}, str(workdir), name="flaky")
    assert read_result(str(workdir)).metrics == {"value": 3} and not (workdir / INCOMPLETE).exists()  # type: ignore[union-attr]


class Other(Flaky):
    command = "other"


def test_a_job_refuses_the_directory_of_another_jobs_result_and_a_file(tmp_path: Path) -> None:
    workdir = tmp_path / "job"
    result = execute(Flaky(), {"fail": False, "value": 1}, {}, str(workdir), name="flaky")
    assert result.job == "flaky" and read_result(str(workdir)).job == "flaky"  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match=r"output=.*job holds the result of 'flaky': 'other' would replace"):
        execute(Other(), {"fail": False, "value": 2}, {}, str(workdir), name="other")
    assert (workdir / REPORT).read_text() == "value 1\n"  # kept
    execute(Flaky(), {"fail": False, "value": 3}, {}, str(workdir), name="flaky")  # the same job may run again
    assert read_result(str(workdir)).metrics == {"value": 3}  # type: ignore[union-attr]
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match=r"output=.*afile is a file, not a directory"):
        execute(Flaky(), {"fail": False, "value": 1}, {}, str(tmp_path / "afile"), name="flaky")


class Counts(Flaky):
    outputs = {"data": Slot(Dataset)}

    def run(self, config: Any, inputs: Any, workdir: str) -> JobResult:
        return JobResult(outputs={"data": Dataset(path=workdir)}, metrics={"value": 0})


class Trains(Flaky):
    outputs = {"checkpoint": Slot(Checkpoint)}


def test_a_result_that_names_no_job_is_judged_by_the_kinds_of_its_outputs(tmp_path: Path) -> None:
    workdir = tmp_path / "job"
    execute(Counts(), {}, {}, str(workdir), name="counts")
    record = json.loads((workdir / RESULT).read_text())
    del record["job"]  # as results were written before they named their job
    (workdir / RESULT).write_text(json.dumps(record))
    with pytest.raises(ConfigError, match="holds the result of a job whose output is dataset"):
        execute(Trains(), {"fail": False, "value": 1}, {}, str(workdir), name="trains")
    execute(Counts(), {}, {}, str(workdir), name="counts")
