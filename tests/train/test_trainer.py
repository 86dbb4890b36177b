from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from olmo_core.callbacks import Callback, TrainerView
from olmo_train.trainer import NonFiniteLoss, Trainer

from tests.train.conftest import SMALL_MODEL, config, make_trainer


def test_micro_batches_do_not_change_the_update(tokens: Path, tmp_path: Path) -> None:
    one = make_trainer(config(tokens, tmp_path, "one", micro_batch_size=8))
    four = make_trainer(config(tokens, tmp_path, "four", micro_batch_size=2))
    four.model.load_state_dict(one.model.state_dict())
    batches = iter(one.loader)
    for step in range(3):
        batch = next(batches)
        mask = torch.ones_like(batch["input_ids"], dtype=torch.bool)
        mask[1, 5:] = False          # a padded row in the first micro-batch of four
        mask[6:, : 3 + step] = False  # prompt-like masks in the last one
        batch["label_mask"] = mask
        first, second = one.train_step(dict(batch)), four.train_step(dict(batch))
        assert first["loss"] == pytest.approx(second["loss"], rel=1e-6)
    for (name, a), (_, b) in zip(one.model.named_parameters(), four.model.named_parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5, msg=name)


def test_a_nan_is_caught_at_its_step(tokens: Path, tmp_path: Path) -> None:
    trainer = make_trainer(config(tokens, tmp_path, "nan"))
    batches = iter(trainer.loader)
    trainer.train_step(next(batches))
    trainer.train_step(next(batches))
    with torch.no_grad():
        trainer.model.transformer.blocks[0].att_proj.weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteLoss, match=r"the loss is nan at step 3 "):
        trainer.train_step(next(batches))
    skipping = make_trainer(config(tokens, tmp_path, "skip", **{"callbacks.loss_guard.on_nan": "skip"}))
    with torch.no_grad():
        skipping.model.transformer.blocks[0].att_proj.weight[0, 0] = float("nan")
    before = {n: p.detach().clone() for n, p in skipping.model.named_parameters()}
    metrics = skipping.train_step(next(iter(skipping.loader)))
    assert metrics["step"] == 1 and metrics["loss"] != metrics["loss"]  # NaN, skipped
    assert all(torch.equal(p, before[n]) or n == "transformer.blocks.0.att_proj.weight"
               for n, p in skipping.model.named_parameters())


class Recorder(Callback):
    """Records the trainer's calls; raises at ``fail_at`` (a step) when given."""

    order = 50

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[str] = []
        self.errors: list[BaseException] = []
        self.fail_at = fail_at

    def on_fit_start(self, trainer: TrainerView) -> None:
        self.calls.append("start")

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, object]) -> None:
        self.calls.append(f"step{trainer.step}")
        if trainer.step == self.fail_at:
            raise RuntimeError(f"injected failure at step {trainer.step}")

    def on_fit_end(self, trainer: TrainerView) -> None:
        self.calls.append("end")

    def on_error(self, trainer: TrainerView, exc: BaseException) -> None:
        self.calls.append("error")
        self.errors.append(exc)

    def close(self, trainer: TrainerView) -> None:
        self.calls.append("close")


class BrokenOnError(Callback):
    def on_error(self, trainer: TrainerView, exc: BaseException) -> None:
        raise ValueError("a callback that fails while handling the failure")


def count_backend_closes(trainer: Trainer) -> list[int]:
    closes: list[int] = []
    close = trainer.backend.close
    trainer.backend.close = lambda: (closes.append(1), close())[-1]  # type: ignore[method-assign]
    return closes


def test_callbacks_are_closed_and_the_backend_too_when_training_ends(tokens: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    trainer = make_trainer(config(tokens, tmp_path, "ok", max_steps=2), callbacks=[recorder])
    closes = count_backend_closes(trainer)
    trainer.fit()
    assert recorder.calls == ["start", "step1", "step2", "end", "close"] and closes == [1]
    assert trainer.callbacks["tensorboard"].writer is None and trainer.callbacks["metrics"].file is None
    trainer.close()  # again: callbacks close again (harmlessly), the backend does not
    assert recorder.calls[-1] == "close" and closes == [1]


def test_a_failing_step_reaches_on_error_then_close(tokens: Path, tmp_path: Path) -> None:
    recorder = Recorder(fail_at=2)
    trainer = make_trainer(config(tokens, tmp_path, "fails", max_steps=4), callbacks=[BrokenOnError(), recorder])
    closes = count_backend_closes(trainer)
    with pytest.raises(RuntimeError, match="injected failure at step 2"):  # not the ValueError of on_error
        trainer.fit()
    assert recorder.calls == ["start", "step1", "step2", "error", "close"] and closes == [1]
    assert isinstance(recorder.errors[0], RuntimeError)
    assert trainer.callbacks["tensorboard"].writer is None and trainer.callbacks["metrics"].file is None
    rows = (tmp_path / "fails" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in rows] == [1]  # the metrics writer (order 100) ran after the failure


def test_a_non_finite_loss_reaches_on_error_then_close(tokens: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    trainer = make_trainer(config(tokens, tmp_path, "nan-fit"), callbacks=[recorder])
    closes = count_backend_closes(trainer)
    with torch.no_grad():
        trainer.model.transformer.blocks[0].att_proj.weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteLoss) as raised:
        trainer.fit()
    assert recorder.calls == ["start", "error", "close"] and recorder.errors == [raised.value] and closes == [1]


def run_train(tokens: Path, runs: Path, name: str, max_steps: int) -> subprocess.Popen[str]:
    args = [*SMALL_MODEL, f"output={runs / name}", f"data=[{tokens}]", "seq_len=32",
            "global_batch_size=256", "micro_batch_size=4", f"max_steps={max_steps}", "callbacks.checkpoint.interval=3",
            "threads=1", "scheduler.warmup_steps=2"]
    return subprocess.Popen([sys.executable, "-m", "olmo_core", "train", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


STEPS = 12


@pytest.fixture(scope="module")
def uninterrupted(tokens: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run directory of the same training run as the interrupted ones, never stopped."""
    runs = tmp_path_factory.mktemp("uninterrupted")
    whole = run_train(tokens, runs, "whole", STEPS)
    out, _ = whole.communicate(timeout=300)
    assert whole.returncode == 0, out
    return runs / "whole"


def final_params(run: Path) -> dict[str, torch.Tensor]:
    return load_file(str(run / "checkpoints" / f"step{STEPS:06d}" / "model.safetensors"))


@pytest.mark.slow
def test_a_killed_run_resumes_exactly(tokens: Path, tmp_path: Path, uninterrupted: Path) -> None:
    killed = run_train(tokens, tmp_path, "killed", STEPS)
    checkpoints = tmp_path / "killed" / "checkpoints"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (checkpoints / "step000006" / "manifest.json").exists():
        time.sleep(0.05)
    time.sleep(0.2)  # into the next steps, possibly in the middle of one
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate()
    assert killed.returncode == -signal.SIGKILL
    resumed = run_train(tokens, tmp_path, "killed", STEPS)
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0 and "resuming from" in out, out

    a, b = final_params(uninterrupted), final_params(tmp_path / "killed")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    def losses(run: Path) -> list[tuple[int, float]]:
        lines = (run / "metrics.jsonl").read_text().splitlines()
        return [(row["step"], row["loss"]) for row in map(json.loads, lines)]

    assert losses(uninterrupted) == losses(tmp_path / "killed")
    assert [s for s, _ in losses(uninterrupted)] == list(range(1, STEPS + 1))


SLOW_DISK = """
import time
import olmo_core.checkpoint as checkpoint

_fsync = checkpoint._fsync
checkpoint._fsync = lambda path: (time.sleep(0.5), _fsync(path))  # a slow disk: checkpoints take seconds
"""


@pytest.mark.slow
def test_a_run_killed_while_writing_a_checkpoint_resumes_from_the_last_complete_one(
        tokens: Path, tmp_path: Path, uninterrupted: Path) -> None:
    (tmp_path / "slow_disk.py").write_text(SLOW_DISK)
    env = {**os.environ, "OLMO_PLUGINS": "slow_disk", "PYTHONPATH": str(tmp_path)}
    args = [sys.executable, "-m", "olmo_core", "train", *SMALL_MODEL, f"output={tmp_path / 'cut'}",
            f"data=[{tokens}]", "seq_len=32", "global_batch_size=256", "micro_batch_size=4", f"max_steps={STEPS}",
            "callbacks.checkpoint.interval=3", "threads=1", "scheduler.warmup_steps=2"]
    killed = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoints = tmp_path / "cut" / "checkpoints"
    deadline = time.monotonic() + 300
    partial: list[Path] = []
    while time.monotonic() < deadline and not partial:
        partial = [p for p in checkpoints.glob(".step000006.tmp-*") if any(p.iterdir())] \
            if checkpoints.is_dir() else []
        time.sleep(0.02)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert partial and (checkpoints / "step000003" / "manifest.json").exists()
    assert not (checkpoints / "step000006").exists()
    resumed = run_train(tokens, tmp_path, "cut", STEPS)
    out, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0 and "step000003 (step 3)" in out, out
    a, b = final_params(uninterrupted), final_params(tmp_path / "cut")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
