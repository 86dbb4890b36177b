"""Issue 22's kill test: ``olmo train`` and ``olmo data tag`` SIGKILLed at seeded random moments (a training run
once in the middle of writing a checkpoint) end bit-identical to runs never stopped.

Each test draws its moments from a seed printed in its assertion messages; ``KILL_SEED=<seed>`` replays them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from olmo_core.checkpoint import latest_checkpoint, step_dir
from olmo_core.cli import invoke

from tests.train.conftest import SMALL_MODEL, config, make_trainer

pytestmark = pytest.mark.slow

STEPS, INTERVAL = 12, 3
TRAIN = {"seq_len": 32, "global_batch_size": 256, "micro_batch_size": 4, "max_steps": STEPS,
         "callbacks.checkpoint.interval": INTERVAL, "threads": 1, "scheduler.warmup_steps": 2}
TAGGERS = "[gopher_quality,gopher_repetition,c4,pii,badwords,code]"
FILES = 6
TIMEOUT = 300

SLOW_DISK = """
import time
import olmo_core.checkpoint as checkpoint

_fsync = checkpoint._fsync
checkpoint._fsync = lambda path: (time.sleep(0.5), _fsync(path))  # a slow disk: checkpoints take seconds
"""


@pytest.fixture
def seed() -> int:
    return int(os.environ.get("KILL_SEED") or random.SystemRandom().randrange(10**6))


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``olmo <args>`` in a session of its own (so that a kill reaches its workers too)."""
    return subprocess.Popen([sys.executable, "-m", "olmo_core", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env={**os.environ, **(env or {})})


def kill_when(process: subprocess.Popen[str], ready: Callable[[], bool], why: str) -> None:
    """SIGKILL ``process`` and its children once ``ready()``; fails if it ended first."""
    deadline = time.monotonic() + TIMEOUT
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            out = process.communicate()[0]
            pytest.fail(f"the run ended before it was killed ({why}):\n{out[-3000:]}")
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL, why


def delayed(delay_once_met: Callable[[], float | None]) -> Callable[[], bool]:
    """A condition that holds the returned number of seconds after ``delay_once_met`` first returns one."""
    at: list[float] = []

    def ready() -> bool:
        if not at and (delay := delay_once_met()) is not None:
            at.append(time.monotonic() + delay)
        return bool(at) and time.monotonic() >= at[0]

    return ready


def finish(process: subprocess.Popen[str]) -> str:
    out = process.communicate(timeout=TIMEOUT)[0]
    assert process.returncode == 0, out[-3000:]
    return out


# -- olmo train ----------------------------------------------------------------------------------------------

def train_args(tokens: Path, run: Path) -> list[str]:
    return ["train", *SMALL_MODEL, f"output={run}", f"data=[{tokens}]", *(f"{k}={v}" for k, v in TRAIN.items())]


def rows(run: Path) -> list[dict[str, Any]]:
    path = run / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def final_state(run: Path) -> dict[str, torch.Tensor]:
    """The model's and the optimizer's tensors of the run's last checkpoint."""
    final = step_dir(run / "checkpoints", STEPS)
    return {f"{part}.{name}": tensor for part in ("model", "optim")
            for name, tensor in load_file(str(final / f"{part}.safetensors")).items()}


@pytest.fixture(scope="module")
def uninterrupted_training(tokens: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kill-train")
    make_trainer(config(tokens, root, "whole", **TRAIN)).fit()
    return root / "whole"


def test_training_killed_at_random_and_mid_checkpoint_ends_bit_identical(
        tokens: Path, tmp_path: Path, uninterrupted_training: Path, seed: int) -> None:
    rng = random.Random(seed)
    after, fraction = rng.randint(1, STEPS - 2), rng.random()
    at = f"KILL_SEED={seed}: killed {fraction:.2f} of a step after step {after}"
    run, checkpoints = tmp_path / "run", tmp_path / "run" / "checkpoints"

    def step_done() -> float | None:
        return next((fraction * r["seconds"] for r in rows(run) if r["step"] == after), None)

    kill_when(start(train_args(tokens, run)), delayed(step_done), at)
    complete = latest_checkpoint(checkpoints)
    last = int(complete.name.removeprefix("step")) if complete else 0
    assert last <= after, at

    # Resumed on a slow disk, killed while writing its first checkpoint.
    (tmp_path / "slow_disk.py").write_text(SLOW_DISK)
    cut = step_dir(checkpoints, last + INTERVAL)

    def writing() -> bool:  # some of its files written, not all (renamed into place when complete)
        try:
            return any(any(p.iterdir()) for p in checkpoints.glob(f".{cut.name}.tmp-*"))
        except FileNotFoundError:  # renamed just now
            return False

    kill_when(start(train_args(tokens, run), env={"OLMO_PLUGINS": "slow_disk", "PYTHONPATH": str(tmp_path)}),
              writing, f"{at}; then while writing {cut.name}")
    assert latest_checkpoint(checkpoints) == complete and not cut.exists(), at

    out = finish(start(train_args(tokens, run)))
    assert (f"resuming from {complete} (step {last})" in out) == (complete is not None), f"{at}\n{out[-3000:]}"
    ours, theirs = final_state(run), final_state(uninterrupted_training)
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours), at
    assert [(r["step"], r["loss"], r["grad_norm"]) for r in rows(run)] == \
           [(r["step"], r["loss"], r["grad_norm"]) for r in rows(uninterrupted_training)], at
    assert len(rows(run)) == STEPS, at


# -- olmo data tag -------------------------------------------------------------------------------------------

def outputs(dataset: Path) -> dict[str, bytes]:
    """The tag run's files (attributes, quarantine) and its report without timings, by path."""
    files = {str(p.relative_to(dataset)): p.read_bytes() for folder in ("attributes", "quarantine")
             for p in sorted((dataset / folder).rglob("*")) if p.is_file()}
    report = json.loads((dataset / "reports" / "tag.json").read_text())
    for tagger in report["taggers"].values():
        del tagger["seconds"], tagger["docs_per_second"]
    return {**files, "report": json.dumps(report, sort_keys=True).replace(str(dataset), "<dataset>").encode()}


@pytest.fixture(scope="module")
def c4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in c4 source fetched into a dataset of six files."""
    root = tmp_path_factory.mktemp("kill-tag")
    invoke(["data", "fetch", "sources=[c4]", "sources.c4.held_out=include", f"documents_per_file={300 // FILES}",
            f"output={root / 'c4'}"])
    return root / "c4"


@pytest.fixture(scope="module")
def uninterrupted_tagging(c4: Path) -> tuple[Path, float]:
    """The dataset tagged in one go (one worker), and how long a file took."""
    dataset = c4.parent / "whole"
    shutil.copytree(c4, dataset)
    begin = time.monotonic()
    invoke(["data", "tag", f"input={dataset}", f"taggers={TAGGERS}", "workers=1"])
    return dataset, (time.monotonic() - begin) / FILES


def test_tagging_killed_at_random_ends_byte_identical(c4: Path, uninterrupted_tagging: tuple[Path, float],
                                                      tmp_path: Path, seed: int) -> None:
    reference, per_file = uninterrupted_tagging
    rng = random.Random(seed)
    # at most half a file's time after at most half the files: at least three files' work is left for two workers,
    # so the kill lands before the run ends even when this machine is faster than when the reference was timed
    after, delay = rng.randint(0, FILES // 2), rng.random() * per_file / 2
    at = f"KILL_SEED={seed}: killed {delay:.2f} s after {after} of {FILES} files were tagged"
    dataset = tmp_path / "c4"
    shutil.copytree(c4, dataset)
    args = ["data", "tag", f"input={dataset}", f"taggers={TAGGERS}", "workers=2"]
    last_tagger = dataset / "attributes" / "code" / "c4"

    def files_done() -> float | None:  # the folder appears when its first file is opened
        return delay if last_tagger.is_dir() and len(list(last_tagger.glob("part-*"))) >= after else None

    kill_when(start(args), delayed(files_done), at)
    assert not (dataset / "reports" / "tag.json").exists(), at
    finish(start(args))
    assert outputs(dataset) == outputs(reference), at
