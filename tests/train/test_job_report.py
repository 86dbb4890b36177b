import json
from pathlib import Path

from olmo_core.jobs import JobResult
from olmo_train.job import TrainJob


def test_the_pretraining_section_shows_the_last_steps_loss_and_the_mean_of_the_last_steps(tmp_path: Path) -> None:
    losses = [11.0, 10.0, 9.0, 7.0]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps({"step": i + 1, "train/loss": loss}) + "\n"
                                                    for i, loss in enumerate(losses)))
    metrics = {"run": str(tmp_path), "model": "olmo-tiny", "parameters": "1.0M", "steps": 4,
               "global_batch_size": 1024, "tokens": 4096, "first_loss": 11.0, "final_loss": 7.0,
               "mean_loss_last_10": sum(losses) / 4, "seconds_training": 2.0, "tokens_per_second": 2048.0,
               "energy_wh": 0.01, "co2_g": 0.004, "energy_measured": False, "watts": 30.0, "carbon_intensity": 0.4}
    markdown = TrainJob().report(JobResult(outputs={}, metrics=metrics, workdir=str(tmp_path))).markdown
    assert "loss 11.000 -> 7.000 at the last step (9.250, the mean of the last 4 steps)." in markdown


def test_a_one_step_run_is_reported_in_the_singular(tmp_path: Path) -> None:
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"step": 1, "train/loss": 11.0}) + "\n")
    metrics = {"run": str(tmp_path), "model": "olmo-tiny", "parameters": "1.0M", "steps": 1,
               "global_batch_size": 1024, "tokens": 1024, "first_loss": 11.0, "final_loss": 11.0,
               "mean_loss_last_10": 11.0, "seconds_training": 1.0, "tokens_per_second": 1024.0,
               "energy_wh": 0.01, "co2_g": 0.004, "energy_measured": False, "watts": 30.0, "carbon_intensity": 0.4}
    markdown = TrainJob().report(JobResult(outputs={}, metrics=metrics, workdir=str(tmp_path))).markdown
    assert "olmo-tiny (1.0M parameters), 1 step of 1,024 tokens (1,024 tokens): loss 11.000 -> 11.000 at the last " \
           "step.\n" in markdown
