"""Two gloo processes on the CPU: ``ddp`` (started by ``launcher.nproc=2``) and ``fsdp`` (started by torchrun)
train like one process with the same global batch; a rank that dies takes the job down with a message naming
it; the sharded checkpoint it left resumes at world size 1 and ends where the uninterrupted run ends."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from olmo_core.checkpoint import is_sharded
from olmo_core.model_io import load_model

from tests.train.conftest import SMALL_MODEL, config, make_trainer

pytestmark = pytest.mark.slow

STEPS = 6
TIMEOUT = 300
ARGS = {"seq_len": 32, "global_batch_size": 256, "micro_batch_size": 2, "max_steps": STEPS, "threads": 1,
        "scheduler.warmup_steps": 2, "callbacks": "[metrics,checkpoint]", "callbacks.checkpoint.interval": 3,
        "callbacks.checkpoint.keep_last": 4}

DIE = '''
import os
from dataclasses import dataclass

from olmo_core import hookimpl
from olmo_core.callbacks import Callback


@dataclass(kw_only=True)
class DieConfig:
    rank: int = 1
    step: int = 5


class Die(Callback):
    """Ends its process abruptly (no exception, no cleanup) on one rank at one step."""

    def __init__(self, config: DieConfig) -> None:
        self.config = config

    def on_step_end(self, trainer, metrics) -> None:
        if trainer.rank == self.config.rank and trainer.step == self.config.step:
            os._exit(3)


@hookimpl
def olmo_register_callbacks(register) -> None:
    register("die", Die, config=DieConfig)
'''


def olmo_train(launcher: list[str], tokens: Path, runs: Path, name: str, *extra: str,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    args = [*SMALL_MODEL, f"output={runs / name}", f"data=[{tokens}]", "backend.timeout_s=60",
            *(f"{k}={v}" for k, v in ARGS.items()), *extra]
    return subprocess.run([sys.executable, *launcher, *args], cwd=runs, capture_output=True, text=True,
                          timeout=TIMEOUT, env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})


OLMO = ["-m", "olmo_core", "train"]
TORCHRUN = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "olmo_core", "train"]


def losses(run: Path, key: str = "loss") -> list[float]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    return [r[key] for r in rows]


def final_params(run: Path) -> dict[str, torch.Tensor]:
    step = run / "checkpoints" / f"step{STEPS:06d}"
    if is_sharded(step):
        return {k: v.detach() for k, v in load_model(step).model.state_dict().items()}
    return load_file(str(step / "model.safetensors"))


def assert_close(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-5, msg=name)


@pytest.fixture(scope="module")
def runs(tokens: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("two-processes")
    single = make_trainer(config(tokens, root, "single", **ARGS))
    single.fit()
    out: dict[str, Any] = {"root": root, "single": root / "single"}
    out["ddp"] = olmo_train(OLMO, tokens, root, "ddp", "backend=ddp", "launcher.nproc=2")
    out["fsdp"] = olmo_train(TORCHRUN, tokens, root, "fsdp", "backend=fsdp")
    (root / "die_plugin.py").write_text(DIE)
    out["died"] = olmo_train(OLMO, tokens, root, "died", "backend=fsdp", "launcher.nproc=2",
                             "callbacks=[metrics,checkpoint,die]", "callbacks.die.step=5",
                             env={"OLMO_PLUGINS": "die_plugin", "PYTHONPATH": str(root)})
    return out


@pytest.mark.parametrize("backend", ["ddp", "fsdp"])
def test_two_ranks_train_like_one(runs: dict[str, Any], backend: str) -> None:
    result = runs[backend]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run = runs["root"] / backend
    assert losses(run) == pytest.approx(losses(runs["single"]), abs=1e-5)
    # gradients summed over ranks, not averaged (Adam alone would hide a factor of 2)
    assert losses(run, "grad_norm") == pytest.approx(losses(runs["single"], "grad_norm"), rel=1e-5)
    assert_close(final_params(run), final_params(runs["single"]))
    assert is_sharded(run / "checkpoints" / "step000003") == (backend == "fsdp")


def test_a_dead_rank_takes_the_job_down_with_its_name(runs: dict[str, Any]) -> None:
    result = runs["died"]
    assert result.returncode == 1, result.stderr[-3000:]
    error = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error and "training failed on rank 1 of 2" in error[-1] and "exited with code 3" in error[-1], \
        result.stderr[-3000:]
    checkpoints = runs["root"] / "died" / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir() if not p.name.startswith(".")) == ["step000003"]


def test_saved_at_two_ranks_resumed_at_one(runs: dict[str, Any], tokens: Path) -> None:
    root = runs["root"]
    assert runs["fsdp"].returncode == 0 and runs["died"].returncode == 1
    resumed_dir = root / "resumed"
    shutil.copytree(root / "died", resumed_dir)
    assert is_sharded(resumed_dir / "checkpoints" / "step000003")
    trainer = make_trainer(config(tokens, root, "resumed", **ARGS))
    assert trainer.step == 3 and trainer.world_size == 1
    trainer.fit()
    assert losses(resumed_dir) == pytest.approx(losses(root / "fsdp"), abs=1e-5)
    assert_close(final_params(resumed_dir), final_params(root / "fsdp"))


def test_saved_at_one_rank_resumed_at_two_with_a_micro_batch_size_that_divides_their_shares(
        tokens: Path, tmp_path: Path) -> None:
    # 8 instances a step: one process in one micro-batch of 8; resumed at 2 ranks (4 instances each), 8 does not
    # divide 4, so micro_batch_size changes to 4 (a micro-batch per rank), which resuming may do
    one = {**ARGS, "micro_batch_size": 8}
    single = make_trainer(config(tokens, tmp_path, "single", **one))
    single.fit()
    resumed = tmp_path / "resumed"
    shutil.copytree(tmp_path / "single", resumed)
    shutil.rmtree(resumed / "checkpoints" / f"step{STEPS:06d}")
    result = olmo_train(OLMO, tokens, tmp_path, "resumed", "backend=ddp", "launcher.nproc=2", "micro_batch_size=4")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "resuming from" in result.stderr and "step000003" in result.stderr
    assert losses(resumed) == pytest.approx(losses(tmp_path / "single"), abs=1e-5)
    assert_close(final_params(resumed), final_params(tmp_path / "single"))


def test_ctrl_c_of_two_workers_saves_their_step_says_so_once_and_exits_130(tokens: Path, tmp_path: Path) -> None:
    import re
    import signal
    import time

    run = tmp_path / "ctrl-c"
    args = [*SMALL_MODEL, f"output={run}", f"data=[{tokens}]", "backend.timeout_s=60", "backend=ddp",
            "launcher.nproc=2", *(f"{k}={v}" for k, v in {**ARGS, "max_steps": 1000,
                                                          "callbacks.checkpoint.interval": 500}.items())]
    child = subprocess.Popen([sys.executable, "-m", "olmo_core", "train", *args], cwd=tmp_path, text=True,
                             stderr=subprocess.PIPE, env={**os.environ, "OMP_NUM_THREADS": "1"})
    metrics = run / "metrics.jsonl"
    deadline = time.monotonic() + TIMEOUT
    while not (metrics.is_file() and metrics.read_text().count("\n") >= 2) and child.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    time.sleep(0.2)
    child.send_signal(signal.SIGINT)  # as `uv run` passes the terminal's Ctrl-C on: the same one
    _, stderr = child.communicate(timeout=TIMEOUT)
    assert child.returncode == 130, stderr[-3000:]
    assert stderr.count("interrupted\n") == 1 and "SignalException" not in stderr, stderr[-3000:]
    promised = re.findall(r"interrupted: saving step (\d+) once it is done", stderr)
    assert len(promised) == 1, stderr[-3000:]
    stopped = re.findall(r"stopped at step (\d+): rerun the command to resume from (\S+)\n", stderr)
    assert len(stopped) == 1, stderr[-3000:]
    step = int(stopped[0][0])
    assert step >= int(promised[0])  # the ranks agree on a step at or after the one rank 0 first named
    saved = run / "checkpoints" / f"step{step:06d}"
    assert stopped[0][1] == str(saved) and (saved / "manifest.json").is_file()
    rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert rows[-1]["step"] == step  # no step lost since the last checkpoint
