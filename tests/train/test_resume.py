"""Resuming a run: only the options that may change on resume may differ; Ctrl-C saves the step it ends."""

from __future__ import annotations

import json
import logging
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from olmo_core.callbacks import Callback, TrainerView
from olmo_core.errors import ConfigError

from tests.train.conftest import config, make_trainer


def test_changed_options_are_refused_on_resume_and_not_recorded(tokens: Path, tmp_path: Path) -> None:
    make_trainer(config(tokens, tmp_path, "t", max_steps=2, **{"optim.lr": 0.002})).fit()
    changed = config(tokens, tmp_path, "t", max_steps=4, seed=1, **{"optim.lr": 0.001})
    with pytest.raises(ConfigError, match=r"saved with other options: optim.lr 0.002 -> 0.001; seed 0 -> 1\. "
                                          r"Only max_steps, micro_batch_size, callbacks, backend, launcher, threads "
                                          r"may change") as info:
        make_trainer(changed)
    step = tmp_path / "t" / "checkpoints" / "step000002"
    assert str(info.value).endswith(f"use a new output= (a new run starts from these weights with init_from={step} "
                                    f"in olmo train, checkpoint={step} in olmo adapt)")
    assert json.loads((tmp_path / "t" / "config.json").read_text())["optim"]["lr"] == 0.002
    longer = config(tokens, tmp_path, "t", max_steps=4, **{"optim.lr": 0.002, "callbacks.checkpoint.interval": 1})
    trainer = make_trainer(longer)
    assert trainer.step == 2
    trainer.fit()
    assert trainer.step == 4 and (tmp_path / "t" / "checkpoints" / "step000003" / "manifest.json").is_file()


def test_a_run_resumes_with_another_micro_batch_size_and_ends_where_the_uninterrupted_run_ends(
        tokens: Path, tmp_path: Path) -> None:
    # 256 tokens of 32 = 8 instances a step: 1 micro-batch of 8, then 4 of 2 after the resume
    whole = make_trainer(config(tokens, tmp_path, "whole", max_steps=4))
    expected = [m["loss"] for m in whole.fit()]
    make_trainer(config(tokens, tmp_path, "split", max_steps=2)).fit()
    resumed = make_trainer(config(tokens, tmp_path, "split", max_steps=4, micro_batch_size=2))
    assert resumed.step == 2
    after = [m["loss"] for m in resumed.fit()]
    assert len(after) == 2
    # the same step split otherwise: the same losses and weights up to float rounding of the accumulation
    assert after == pytest.approx(expected[2:], rel=1e-5)
    for (name, a), b in zip(whole.plain_model.state_dict().items(), resumed.plain_model.state_dict().values(),
                            strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6), name


def test_a_micro_batch_size_that_does_not_divide_a_ranks_share_says_it_may_change_on_resume() -> None:
    from types import SimpleNamespace

    from olmo_train.trainer import check_batch_shape

    # 2048 tokens of 256 = 8 instances, 4 per rank at world size 2: 8 does not divide 4, 4 does
    with pytest.raises(ConfigError, match=r"micro_batch_size=8 must divide the 4 instances each rank gets of a global "
                                          r"batch \(a run may resume with another micro_batch_size"):
        check_batch_shape(SimpleNamespace(global_batch_size=2048, seq_len=256, micro_batch_size=8), 2)
    check_batch_shape(SimpleNamespace(global_batch_size=2048, seq_len=256, micro_batch_size=4), 2)


def test_a_larger_max_steps_on_resume_warns_that_the_schedule_is_recomputed(
        tokens: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # cosine, peak 1e-3, warmup 2, floor 0.1 of the peak; 0-based step s of a run of M steps:
    # M=4, s=3: progress (3-2)/(4-2) = 0.5 -> 1e-4 + 9e-4 * (1 + cos(pi/2)) / 2 = 5.5e-4 (the 4th step)
    # M=8, s=4: progress (4-2)/(8-2) = 1/3 -> 1e-4 + 9e-4 * (1 + cos(pi/3)) / 2 = 7.75e-4; M=4, s=4: the floor, 1e-4
    options = {"optim.lr": 0.001, "scheduler": "cosine_with_warmup", "scheduler.warmup_steps": 2}
    first = make_trainer(config(tokens, tmp_path, "m", max_steps=4, **options)).fit()
    assert first[-1]["lr"] == pytest.approx(5.5e-4)
    with caplog.at_level(logging.WARNING):
        resumed = make_trainer(config(tokens, tmp_path, "m", max_steps=8, **options))
    assert ("max_steps changed from 4 to 8 on resume: the learning-rate schedule is defined over max_steps, so it is "
            "recomputed for the new length (step 4 ran at lr 0.00055): step 5 runs at lr 0.000775 instead of 0.0001"
            ) in caplog.text
    assert resumed.fit()[0]["lr"] == pytest.approx(7.75e-4)  # the behaviour stays: only the warning is new


def test_a_larger_max_steps_on_resume_says_nothing_of_a_constant_schedule(
        tokens: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    options = {"scheduler": "constant", "scheduler.warmup_steps": 2}
    make_trainer(config(tokens, tmp_path, "k", max_steps=3, **options)).fit()
    with caplog.at_level(logging.WARNING):
        assert make_trainer(config(tokens, tmp_path, "k", max_steps=5, **options)).step == 3
    assert "max_steps changed" not in caplog.text


def test_a_max_steps_below_the_checkpoints_step_warns_that_nothing_was_trained(
        tokens: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_trainer(config(tokens, tmp_path, "p", max_steps=4)).fit()
    with caplog.at_level(logging.WARNING):
        resumed = make_trainer(config(tokens, tmp_path, "p", max_steps=2))
        assert resumed.fit() == []
    assert resumed.step == 4
    assert ("the run resumed at step 4, already past max_steps=2: nothing was trained (give a max_steps above 4 to "
            "train on)") in caplog.text
    assert "max_steps changed" not in caplog.text


class CtrlC(Callback):
    def on_step_end(self, trainer: TrainerView, metrics: dict) -> None:
        if metrics["step"] == 3:
            signal.raise_signal(signal.SIGINT)


def test_ctrl_c_saves_the_step_it_ends_and_says_where_the_run_resumes(tokens: Path, tmp_path: Path,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    options = config(tokens, tmp_path, "c", max_steps=6)  # checkpoints every 2 steps
    with caplog.at_level(logging.WARNING), pytest.raises(KeyboardInterrupt):
        make_trainer(options, callbacks=[CtrlC()]).fit()
    step3 = tmp_path / "c" / "checkpoints" / "step000003"
    assert (step3 / "manifest.json").is_file()
    assert f"stopped at step 3: rerun the command to resume from {step3}" in caplog.text
    assert make_trainer(options).step == 3


class DoubleCtrlC(Callback):
    def on_step_end(self, trainer: TrainerView, metrics: dict) -> None:
        if metrics["step"] == 3:
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)


@pytest.mark.parametrize(("apart", "saved"), [(1.0, 3), (0.0, 2)])
def test_a_second_ctrl_c_stops_at_once_unless_it_comes_within_a_second_of_the_first(
        tokens: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, apart: float, saved: int) -> None:
    import olmo_train.trainer

    monkeypatch.setattr(olmo_train.trainer, "SAME_CTRL_C_SECONDS", apart)  # 0: the second comes too late
    options = config(tokens, tmp_path, "d", max_steps=6)  # checkpoints every 2 steps
    with pytest.raises(KeyboardInterrupt):
        make_trainer(options, callbacks=[DoubleCtrlC()]).fit()
    assert make_trainer(options).step == saved
    assert (tmp_path / "d" / "checkpoints" / "step000003" / "manifest.json").is_file() == (saved == 3)


def tiny_run(tokens: Path, output: Path, max_steps: int) -> list[str]:
    """The options of an ``olmo train`` run of the olmo-tiny preset slow enough to interrupt mid-step."""
    items = {"output": output, "data": f"[{tokens}]", "model": "olmo-tiny", "seq_len": 64, "global_batch_size": 2048,
             "micro_batch_size": 8, "max_steps": max_steps, "callbacks.checkpoint.interval": 500, "threads": 1,
             "scheduler.warmup_steps": 2}
    return [f"{key}={value}" for key, value in items.items()]


def test_a_ctrl_c_forwarded_twice_by_uv_run_still_saves_the_promised_step(tokens: Path, tmp_path: Path) -> None:
    from olmo_core.hydra_bridge import compose_command
    from olmo_core.plugins import get_host

    # `uv run` forwards the terminal's Ctrl-C to its child, which so gets two SIGINTs about 0.2 s apart
    olmo = str(Path(sys.executable).parent / "olmo")
    child = subprocess.Popen([olmo, "train", *tiny_run(tokens, tmp_path / "u", 1000)], stderr=subprocess.PIPE,
                             text=True)
    metrics = tmp_path / "u" / "metrics.jsonl"
    while not (metrics.is_file() and metrics.read_text().count("\n") >= 2) and child.poll() is None:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    time.sleep(0.2)
    child.send_signal(signal.SIGINT)
    _, stderr = child.communicate(timeout=120)
    promised = re.search(r"interrupted: saving step (\d+) once it is done", stderr)
    assert promised, stderr
    step = int(promised.group(1))
    saved = tmp_path / "u" / "checkpoints" / f"step{step:06d}"
    assert f"stopped at step {step}: rerun the command to resume from {saved}\n" in stderr
    assert (saved / "manifest.json").is_file()
    resumed = make_trainer(compose_command(get_host().registry("commands").get("train"),
                                           tiny_run(tokens, tmp_path / "u", step + 1)))
    assert resumed.step == step
    resumed.fit()
    assert resumed.step == step + 1
