"""SFT on the trainer: the first step's loss is the trained-token mean, and a stopped run resumes exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from olmo_core.callbacks import Callback
from olmo_core.checkpoint import load_checkpoint
from olmo_core.model_io import load_model
from olmo_core.plugins import get_host

from olmo_adapt.runner import run_method
from olmo_adapt.sft.method import SFT, SFTConfig
from olmo_train.trainer import CallbackError

SETTINGS = dict(max_length=96, eval_examples=0, lr=3e-3, max_steps=4, batch_size=4, micro_batch_size=2)


class Stop(Exception):
    pass


class StopAfter(Callback):
    """Kills the run after the checkpoint of step ``step`` is written."""

    order = 1000

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, trainer: Any, metrics: dict[str, Any]) -> None:
        if trainer.step == self.step:
            raise Stop


def _run(checkpoint: Path, runs: Path, name: str, *extra: Callback) -> Any:
    host = get_host()
    callbacks = {n: host.registry("callbacks").resolve(n)[1] for n in ("metrics", "checkpoint")}
    callbacks["checkpoint"].interval = 2
    _, backend = host.registry("train_backends").resolve("single")
    return run_method(SFT(SFTConfig(**SETTINGS)), checkpoint=checkpoint, run_dir=runs / name, backend=backend,
                      callbacks=callbacks, seed=3, extra_callbacks=extra)


def test_a_stopped_sft_run_resumes_to_the_same_parameters(tiny_checkpoint: Path, tmp_path: Path) -> None:
    whole = _run(tiny_checkpoint, tmp_path, "whole")
    with pytest.raises(CallbackError) as stopped:  # the trainer names the callback that raised
        _run(tiny_checkpoint, tmp_path, "stopped", StopAfter(2))
    assert isinstance(stopped.value.__cause__, Stop)
    resumed = _run(tiny_checkpoint, tmp_path, "stopped")
    assert [m["step"] for m in resumed.history] == [3, 4]
    a = load_checkpoint(whole.checkpoint).tensors["model"]
    b = load_checkpoint(resumed.checkpoint).tensors["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    before = load_checkpoint(tiny_checkpoint).tensors["model"]
    assert any(not torch.equal(a[k], before[k]) for k in a)
    rows = [json.loads(line) for line in (tmp_path / "stopped" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4]

    # the first step's loss: summed cross-entropy of the trained tokens of the step's 4 conversations (over both
    # micro-batches) divided by their count, worked out here from unpadded sequences in float64
    loader = whole.prepared.loader
    model = load_model(tiny_checkpoint).model.eval()
    total, count = 0.0, 0
    for index in loader.order(0)[:4]:
        example = loader.examples[index]
        with torch.no_grad():
            logp = torch.log_softmax(model(torch.tensor([example.ids]))[0].double(), dim=-1)
        for t, label in enumerate(example.labels):
            if label != -100:
                total -= float(logp[t, label])
                count += 1
    assert rows[0]["loss"] == pytest.approx(total / count, abs=1e-5)


def test_run_method_refuses_to_resume_with_packing_turned_on(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """run_method itself (not only the job's check) refuses a resume whose method options change what is trained."""
    from olmo_core.errors import ConfigError

    host = get_host()
    _, backend = host.registry("train_backends").resolve("single")
    callbacks = {"checkpoint": host.registry("callbacks").resolve("checkpoint")[1]}
    settings = {**SETTINGS, "max_steps": 1}
    run_method(SFT(SFTConfig(**settings)), checkpoint=tiny_checkpoint, run_dir=tmp_path / "sft", backend=backend,
               callbacks=callbacks)
    with pytest.raises(ConfigError, match=r"saved with other options: method.packing False -> True\. Only "):
        run_method(SFT(SFTConfig(**{**settings, "max_steps": 2, "packing": True})), checkpoint=tiny_checkpoint,
                   run_dir=tmp_path / "sft", backend=backend, callbacks=callbacks)
