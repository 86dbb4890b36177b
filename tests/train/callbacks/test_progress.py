"""The progress callback: a live line on a terminal, a logged line per interval otherwise; log.txt keeps both."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from olmo_core.logs import log_file, setup_logging
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


def test_on_a_terminal_the_live_line_is_kept_in_log_txt(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging()
    callback = ProgressCallback(ProgressConfig())
    callback.live = True
    with log_file(str(tmp_path)):
        for step in (1, 2):
            callback.on_step_end(SimpleNamespace(is_main=True, max_steps=2),
                                 {"step": step, "loss": 2.5, "lr": 1e-3, "grad_norm": 0.5, "seconds": 90})
    out, err = capsys.readouterr()
    assert out.split("\r\033[K")[1:] == ["step 1/2 (50%) loss 2.5000 lr 0.001 grad 0.500 ETA 1m30s",
                                         "step 2/2 (100%) loss 2.5000 lr 0.001 grad 0.500\n"]
    assert err == ""  # shown once: on the live line, not again on stderr
    assert [line.split(" ", 2)[2] for line in (tmp_path / "log.txt").read_text().splitlines()] == [
        "INFO olmo_train.callbacks.progress: step 1/2 (50%) loss 2.5000 lr 0.001 grad 0.500 ETA 1m30s",
        "INFO olmo_train.callbacks.progress: step 2/2 (100%) loss 2.5000 lr 0.001 grad 0.500"]


def test_a_skipped_step_says_so_instead_of_a_nan_gradient_norm(caplog: pytest.LogCaptureFixture) -> None:
    """A step a callback skipped (SkipStep) still counts (step 2/3) but took no gradient norm: the line says
    ``skipped``, not ``grad nan``."""
    callback = ProgressCallback(ProgressConfig())
    caplog.set_level(logging.INFO, logger="olmo_train")
    callback.on_step_end(SimpleNamespace(is_main=True, max_steps=3),
                         {"step": 2, "loss": float("nan"), "lr": 1e-3, "grad_norm": float("nan"), "seconds": 90,
                          "skipped": True})
    assert [r.getMessage() for r in caplog.records] == ["step 2/3 (67%) loss nan lr 0.001 skipped ETA 1m30s"]
