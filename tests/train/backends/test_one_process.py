"""``ddp`` and ``fsdp`` in one process (a process group of its own) train exactly like ``single``, and their
checkpoints resume on any backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
from torch.distributed.tensor import DTensor

from olmo_core.checkpoint import is_sharded, verify_checkpoint
from olmo_core.model_io import load_model
from olmo_train.trainer import Trainer

from tests.train.conftest import config, make_trainer


def run(tokens: Path, runs: Path, name: str, backend: str, steps: int, **overrides: Any) -> tuple[Trainer, list[float]]:
    trainer = make_trainer(config(tokens, runs, name, backend=backend, max_steps=steps, micro_batch_size=4,
                             **{"callbacks": "[metrics,checkpoint]", **overrides}))
    try:
        history = trainer.fit()
        return trainer, [m["loss"] for m in history]
    finally:
        trainer.backend.close()


def params(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {n: (p.full_tensor() if isinstance(p, DTensor) else p).detach().clone()
            for n, p in trainer.plain_model.named_parameters()}


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-5, msg=name)


@pytest.mark.parametrize("backend", ["ddp", "fsdp"])
def test_one_rank_trains_like_single(tokens: Path, tmp_path: Path, backend: str) -> None:
    single, single_losses = run(tokens, tmp_path, "single", "single", 3)
    other, other_losses = run(tokens, tmp_path, backend, backend, 3)
    assert not dist.is_initialized()
    assert other_losses == pytest.approx(single_losses, abs=1e-5) and len(other_losses) == 3
    assert_same(params(single), params(other))
    if backend == "fsdp":
        assert all(isinstance(p, DTensor) for p in other.plain_model.parameters())


def test_a_sharded_checkpoint_resumes_on_single_and_loads_for_evaluation(tokens: Path, tmp_path: Path) -> None:
    whole, whole_losses = run(tokens, tmp_path, "whole", "single", 4)
    sharded, _ = run(tokens, tmp_path, "cut", "fsdp", 4, **{"callbacks.checkpoint.interval": 2})
    step2 = tmp_path / "cut" / "checkpoints" / "step000002"
    assert is_sharded(step2) and not (step2 / "model.safetensors").exists()
    manifest = verify_checkpoint(step2)
    assert manifest["sharded"]["world_size"] == 1 and any(f.startswith("shards/") for f in manifest["files"])
    for later in (tmp_path / "cut" / "checkpoints").glob("step00000[34]"):
        import shutil

        shutil.rmtree(later)
    resumed, resumed_losses = run(tokens, tmp_path, "cut", "single", 4)
    assert resumed_losses == pytest.approx(whole_losses[2:], abs=1e-5)
    assert_same(params(whole), params(resumed))
    loaded = load_model(step2)
    assert loaded.trainer["step"] == 2
    assert_same({n: p.detach() for n, p in loaded.model.named_parameters()},
                {n: p.detach() for n, p in load_model(tmp_path / "whole" / "checkpoints" / "step000002")
                 .model.named_parameters()})


def test_a_whole_checkpoint_resumes_sharded(tokens: Path, tmp_path: Path) -> None:
    whole, whole_losses = run(tokens, tmp_path, "whole", "single", 4)
    run(tokens, tmp_path, "cut", "single", 4, **{"callbacks.checkpoint.interval": 2, "callbacks.checkpoint.keep_last": 3})
    import shutil

    for later in (tmp_path / "cut" / "checkpoints").glob("step00000[34]"):
        shutil.rmtree(later)
    resumed, resumed_losses = run(tokens, tmp_path, "cut", "fsdp", 4)
    assert resumed_losses == pytest.approx(whole_losses[2:], abs=1e-5)
    assert_same(params(whole), params(resumed))
    assert is_sharded(tmp_path / "cut" / "checkpoints" / "step000004")
