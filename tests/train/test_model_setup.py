from __future__ import annotations

from pathlib import Path

import pytest
import torch

from olmo_train.trainer import Trainer

from tests.train.conftest import config, make_trainer


def two_steps(tokens: Path, runs: Path, name: str, **overrides: object) -> Trainer:
    trainer = make_trainer(config(tokens, runs, name, **overrides))
    batches = iter(trainer.loader)
    for _ in range(2):
        trainer.train_step(next(batches))
    return trainer


def assert_same_parameters(a: Trainer, b: Trainer, atol: float) -> None:
    for (name, x), (_, y) in zip(a.plain_model.named_parameters(), b.plain_model.named_parameters(), strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=atol, msg=name)


def test_activation_checkpointing_changes_memory_not_results(tokens: Path, tmp_path: Path) -> None:
    plain = two_steps(tokens, tmp_path, "plain")
    recomputed = two_steps(tokens, tmp_path, "recomputed", **{"backend.activation_checkpointing": True})
    assert_same_parameters(plain, recomputed, atol=1e-6)
    assert list(recomputed.plain_model.state_dict()) == list(plain.plain_model.state_dict())


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf:UserWarning")  # dynamo's own
def test_compiled_blocks_train_like_eager_ones(tokens: Path, tmp_path: Path) -> None:
    eager = two_steps(tokens, tmp_path, "eager")
    compiled = two_steps(tokens, tmp_path, "compiled", **{"backend.compile": True})
    assert_same_parameters(eager, compiled, atol=1e-5)
    assert list(compiled.plain_model.state_dict()) == list(eager.plain_model.state_dict())
