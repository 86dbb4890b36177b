from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest

from olmo_core.callbacks import SkipStep
from olmo_train.callbacks.loss_guard import LossGuard, LossGuardConfig, LossSpike


class Run:
    run_dir = Path("runs/x")


def check(guard: LossGuard, step: int, loss: float) -> None:
    guard.check_loss(Run(), {"step": step, "loss": loss, "lr": 1e-3})  # type: ignore[arg-type]


def test_a_spike_is_judged_against_the_recent_window() -> None:
    losses = [3.0, 3.2, 2.9, 3.1, 3.0, 2.8, 3.1, 3.0]
    mean, std = statistics.fmean(losses[-4:]), statistics.pstdev(losses[-4:])
    guard = LossGuard(LossGuardConfig(spike_sigmas=3.0, spike_window=4, on_spike="skip"))
    for step, loss in enumerate(losses, 1):
        check(guard, step, loss)
    just_below = mean + 3.0 * std - 1e-6
    check(guard, 9, just_below)  # not a spike; it joins the window
    window = [*losses[-3:], just_below]
    spike = statistics.fmean(window) + 3.0 * statistics.pstdev(window) + 1e-6
    with pytest.raises(SkipStep):
        check(guard, 10, spike)
    assert guard.skipped == [10] and list(guard.recent) == window  # a skipped spike does not enter the window
    stopping = LossGuard(LossGuardConfig(spike_sigmas=3.0, spike_window=4, on_spike="stop"))
    for step, loss in enumerate(window, 1):
        check(stopping, step, loss)
    with pytest.raises(LossSpike, match=r"loss spike at step 5: .* more than 3 standard deviations"):
        check(stopping, 5, spike)


def test_the_window_survives_a_resume() -> None:
    guard = LossGuard(LossGuardConfig(spike_sigmas=2.0, spike_window=4))
    for step, loss in enumerate([1.0, 1.1, 0.9, 1.0], 1):
        check(guard, step, loss)
    state: dict[str, Any] = guard.state_dict()
    resumed = LossGuard(LossGuardConfig(spike_sigmas=2.0, spike_window=4))
    resumed.load_state_dict(state)
    with pytest.raises(SkipStep):
        check(resumed, 5, 5.0)
