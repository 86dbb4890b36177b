"""``olmo pipeline`` end to end on the smoke preset: a sweep compared in one report, and a run killed in the
middle of a stage that finishes with the results of an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from safetensors.torch import load_file

pytestmark = pytest.mark.slow

SECTIONS = ("## Data", "## Curation", "## Tokens", "## Pretraining", "## Instruction tuning (SFT)",
            "## Preference tuning (DPO)", "Sample conversation", "## Evaluation", "## Reproduce", "## Plugins")


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``olmo pipeline -m stages.pretrain.optim.lr=1e-3,3e-3 pipeline=smoke``, as a user types it."""
    runs = tmp_path_factory.mktemp("runs")
    done = subprocess.run([sys.executable, "-m", "olmo_core", "pipeline", "-m", "stages.pretrain.optim.lr=1e-3,3e-3",
                           "pipeline=smoke", f"runs_dir={runs}", "name=sweep"],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return runs / "sweep"


def results(run: Path) -> dict[str, dict[str, Any]]:
    """Each stage's result (its outputs and metrics) by stage name."""
    return {p.parent.name.split("-", 1)[1]: json.loads(p.read_text()) for p in sorted(run.glob("stages/*/result.json"))}


def test_a_sweep_runs_every_stage_twice_and_compares_the_runs(sweep: Path) -> None:
    jobs = sorted(p for p in sweep.iterdir() if p.is_dir())
    assert [j.name for j in jobs] == ["stages.pretrain.optim.lr=0.001", "stages.pretrain.optim.lr=0.003"]
    for job in jobs:
        report = (job / "report.md").read_text()
        assert all(section in report for section in SECTIONS), report
        assert "| source | fetched | filtered | deduplicated |" in report  # documents per source and step
        figures = [line.split("](")[1].rstrip(")") for line in report.splitlines() if line.startswith("![")]
        assert len(figures) >= 8 and all((job / f).is_file() for f in figures)
        assert "energy" in report.lower() and "CO2" in report and "chance" in report
        assert "pipeline=smoke" in report and "stages.pretrain.optim.lr=" in report  # the command that reproduces it
        evaluation = results(job)["evaluate"]["metrics"]
        assert [e["model"] for e in evaluation["evaluated"]] == ["base", "SFT", "DPO"]
    first, second = (results(j)["pretrain"]["metrics"] for j in jobs)
    assert first["mean_loss_last_10"] != second["mean_loss_last_10"]
    table = (sweep / "comparison.md").read_text()
    assert "pretrain.mean_loss_last_10" in table and f"{first['mean_loss_last_10']:.4g}" in table
    assert (sweep / "comparison_loss.png").is_file()


def test_a_run_killed_in_a_stage_finishes_like_an_uninterrupted_one(sweep: Path, tmp_path: Path) -> None:
    args = [sys.executable, "-m", "olmo_core", "pipeline", "pipeline=smoke", "stages.pretrain.optim.lr=1e-3",
            f"runs_dir={tmp_path}", "name=cut"]
    killed = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run = tmp_path / "cut"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not list(run.glob("stages/08-pretrain/checkpoints/step000004")):
        time.sleep(0.05)
    os.kill(killed.pid, signal.SIGKILL)  # in the middle of pretraining, after its first checkpoint
    killed.wait()
    assert not (run / "stages" / "08-pretrain" / "done.json").exists()
    resumed = subprocess.run(args, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0 and "resuming from" in resumed.stderr, resumed.stderr[-3000:]
    reference = sweep / "stages.pretrain.optim.lr=0.001"
    ours, theirs = results(run), results(reference)
    for stage in ("pretrain", "sft", "dpo"):
        a = load_file(str(Path(ours[stage]["outputs"]["checkpoint"]["path"]) / "model.safetensors"))
        b = load_file(str(Path(theirs[stage]["outputs"]["checkpoint"]["path"]) / "model.safetensors"))
        assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a), stage
    assert ours["pretrain"]["metrics"]["final_loss"] == theirs["pretrain"]["metrics"]["final_loss"]
    assert ours["evaluate"]["metrics"]["accuracy"] == theirs["evaluate"]["metrics"]["accuracy"]
    assert ours["evaluate"]["metrics"]["bits_per_byte"] == theirs["evaluate"]["metrics"]["bits_per_byte"]
