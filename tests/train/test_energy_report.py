"""The energy of a multi-process run: watts per process times the processes, and the report says so."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from olmo_core.jobs import JobResult
from olmo_train.callbacks.energy import EnergyCallback, EnergyConfig
from olmo_train.job import TrainJob


def test_two_processes_are_reported_as_watts_per_process_times_two(tmp_path: Path) -> None:
    energy = EnergyCallback(EnergyConfig(watts=30.0, carbon_intensity=0.4))
    energy.on_fit_start(SimpleNamespace(world_size=2))
    step = {"seconds": 36.0}
    energy.on_step_end(SimpleNamespace(world_size=2), step)
    # 30 W x 2 processes x 36 s = 2,160 J = 0.6 Wh; x 0.4 kg/kWh = 0.24 g
    assert (step["energy_wh"], step["energy_measured"]) == (0.6, False)
    assert abs(step["co2_g"] - 0.24) < 1e-12
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 1, "loss": 11.0, **step}) + "\n")
    metrics = {"run": str(tmp_path), "model": "olmo-tiny", "parameters": "1.0M", "steps": 1,
               "global_batch_size": 2048, "tokens": 2048, "first_loss": 11.0, "final_loss": 11.0,
               "mean_loss_last_10": 11.0, "seconds_training": 36.0, "tokens_per_second": 56.9,
               "energy_wh": 0.6, "co2_g": 0.24, "energy_measured": False, "watts": 30.0, "carbon_intensity": 0.4,
               "processes": 2}
    markdown = TrainJob().report(JobResult(outputs={}, metrics=metrics, workdir=str(tmp_path))).markdown
    assert "| 0.60 Wh (estimated at 30 W per process, 2 processes) | 0.24 g at 0.4 kg/kWh |" in markdown
    one = TrainJob().report(JobResult(outputs={}, metrics={**metrics, "processes": 1}, workdir=str(tmp_path)))
    assert "(estimated at 30 W) |" in one.markdown  # one process: as before
