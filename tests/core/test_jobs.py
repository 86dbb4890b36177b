"""Running a job in its work directory: the record of a run describes that run only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from olmo_core.jobs import INCOMPLETE, REPORT, RESULT, Job, JobResult, Report, execute, read_result


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
