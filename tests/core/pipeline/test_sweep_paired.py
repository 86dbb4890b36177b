"""A sweep's comparison says, per model and task, whether each run differs from the first beyond noise."""

from __future__ import annotations

import json
from pathlib import Path

from olmo_core.jobs import JobResult
from olmo_core.pipeline.compare import write_comparison


def _run(sweep: Path, name: str, right: list[bool]) -> None:
    stage = sweep / name / "stages" / "0-evaluate"
    stage.mkdir(parents=True)
    (sweep / name / "pipeline.json").write_text(json.dumps([{"stage": "evaluate"}]))
    correct = stage / "correct.json"
    correct.write_text(json.dumps({"base": {"copa": {str(d): ok for d, ok in enumerate(right)}}}))
    result = JobResult(outputs={}, metrics={"correct": str(correct), "base_mean_accuracy": sum(right) / len(right)},
                       workdir=str(stage))
    (stage / "result.json").write_text(json.dumps(result.to_json()))


def test_each_run_is_compared_with_the_first_on_the_same_examples(tmp_path: Path) -> None:
    _run(tmp_path, "lr=1", [True] * 3 + [False] * 7)
    _run(tmp_path, "lr=2", [True] * 9 + [False])  # 6 more right, none fewer: p = 2 / 2^6
    _run(tmp_path, "lr=3", [False] + [True] * 2 + [False] * 6 + [True])  # one each way: p = 1
    report = write_comparison(tmp_path)
    assert report is not None
    text = report.read_text()
    assert "| lr=2 | 0.9 |" in text
    assert "- evaluate.base/copa: lr=2 vs lr=1: +0.600 (p=0.031, beyond noise)" in text
    assert "- evaluate.base/copa: lr=3 vs lr=1: +0.000 (p=1, within noise)" in text
