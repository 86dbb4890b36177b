"""Held-out evaluation: the in-loop figure starts at the values before training (step 0)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import olmo_core.plots
from olmo_core.plugins import get_host

from olmo_adapt.runner import run_method
from olmo_adapt.sft.method import SFT, SFTConfig


def test_the_in_loop_figure_plots_the_values_before_training_at_step_0(tiny_checkpoint: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A run evaluated only at its last step drew a single dot; eval_before.json's values are its step 0."""
    drawn: dict[Path, Any] = {}
    original = olmo_core.plots.panel_plot

    def recorded(path: Any, panels: Any, **kwargs: Any) -> Path:
        drawn[Path(path)] = panels
        return original(path, panels, **kwargs)

    monkeypatch.setattr(olmo_core.plots, "panel_plot", recorded)
    host = get_host()
    callbacks = {n: host.registry("callbacks").resolve(n)[1] for n in ("metrics", "plots")}
    _, backend = host.registry("train_backends").resolve("single")
    settings = SFTConfig(max_length=96, eval_examples=8, max_examples=12, max_steps=2, batch_size=4,
                         micro_batch_size=4)
    run_method(SFT(settings), checkpoint=tiny_checkpoint, run_dir=tmp_path / "sft", backend=backend,
               callbacks=callbacks)
    figure = tmp_path / "sft" / "plots" / "in_loop_eval.png"
    assert figure.is_file() and figure in drawn
    steps, values = drawn[figure]["loss"]["loss"]
    assert list(steps) == [0, 2] and values[0] != values[1]
