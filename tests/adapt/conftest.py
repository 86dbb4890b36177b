"""Shared fixtures of the adaptation tests: the OLMo tokenizer, its chat template and a tiny checkpoint."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from olmo_core.tokenizer import Tokenizer

from olmo_core.chat_template import TuluTemplate

TINY_MODEL = ["model.d_model=32", "model.n_heads=2", "model.n_layers=2", "model.mlp_hidden_size=128",
              "model.max_sequence_length=512"]


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def template(tokenizer: Tokenizer) -> TuluTemplate:
    return TuluTemplate(tokenizer)


def make_checkpoint(path: Path, *, seed: int = 0, tokenizer: str = "olmo-v1.5", overrides: tuple[str, ...] = ()) -> Path:
    """A freshly initialized tiny OLMo checkpoint, written by ``olmo model init``."""
    from olmo_core.cli import invoke

    invoke(["model", "init", f"output={path}", f"seed={seed}", f"tokenizer={tokenizer}", *TINY_MODEL, *overrides])
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_checkpoint(tmp_path_factory.mktemp("tiny") / "base")
