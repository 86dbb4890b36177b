"""Resuming a run: only the options that may change on resume may differ; Ctrl-C saves the step it ends."""

from __future__ import annotations

import json
import logging
import signal
from pathlib import Path

import pytest

from olmo_core.callbacks import Callback, TrainerView
from olmo_core.errors import ConfigError

from tests.train.conftest import config, make_trainer


def test_changed_options_are_refused_on_resume_and_not_recorded(tokens: Path, tmp_path: Path) -> None:
    make_trainer(config(tokens, tmp_path, "t", max_steps=2, **{"optim.lr": 0.002})).fit()
    changed = config(tokens, tmp_path, "t", max_steps=4, seed=1, **{"optim.lr": 0.001})
    with pytest.raises(ConfigError, match=r"saved with other options: optim.lr 0.002 -> 0.001; seed 0 -> 1\. "
                                          r"Only max_steps, callbacks, backend, launcher, threads may change"):
        make_trainer(changed)
    assert json.loads((tmp_path / "t" / "config.json").read_text())["optim"]["lr"] == 0.002
    longer = config(tokens, tmp_path, "t", max_steps=4, **{"optim.lr": 0.002, "callbacks.checkpoint.interval": 1})
    trainer = make_trainer(longer)
    assert trainer.step == 2
    trainer.fit()
    assert trainer.step == 4 and (tmp_path / "t" / "checkpoints" / "step000003" / "manifest.json").is_file()


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
