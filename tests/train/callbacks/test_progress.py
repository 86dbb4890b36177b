"""The progress callback: a live line on a terminal, a logged line per interval otherwise."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest

from olmo_train.callbacks.progress import ProgressCallback, ProgressConfig


def test_steps_are_logged_off_a_terminal(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    callback = ProgressCallback(ProgressConfig(interval=2))
    assert not callback.live  # pytest's captured stdout is no terminal
    trainer = SimpleNamespace(is_main=True, max_steps=3)
    caplog.set_level(logging.INFO, logger="olmo_train")
    for step in (1, 2, 3):
        callback.on_step_end(trainer, {"step": step, "loss": 2.5, "lr": 1e-3, "grad_norm": 0.5, "seconds": 90})
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "step 2/3 (67%) loss 2.5000 lr 0.001 grad 0.500 ETA 1m30s"),
        ("INFO", "step 3/3 (100%) loss 2.5000 lr 0.001 grad 0.500")]
    assert capsys.readouterr().out == ""
