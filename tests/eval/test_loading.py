"""Finding and loading the model to evaluate, and refusing a tokenizer that does not fit it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from olmo_core.errors import ConfigError
from olmo_core.model_io import save_model
from olmo_core.plugins import get_host

from olmo_eval.loading import load_eval_model, resolve_checkpoint

from tests.eval.conftest import TINY, tiny_model


def test_a_run_directory_resolves_to_its_newest_checkpoint(checkpoint: Path) -> None:
    run = checkpoint.parent.parent
    assert resolve_checkpoint(run) == (checkpoint, "olmo")
    assert resolve_checkpoint(checkpoint) == (checkpoint, "olmo")
    loaded = load_eval_model(run)
    assert loaded.step == 7 and loaded.tokenizer.name == "olmo-v1.5" and not loaded.model.training


def test_not_a_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="neither an olmo checkpoint"):
        resolve_checkpoint(tmp_path)
    with pytest.raises(ConfigError, match="no such directory"):
        resolve_checkpoint(tmp_path / "absent")


def test_a_vocabulary_that_does_not_fit_the_tokenizer_fails_clearly(tmp_path: Path) -> None:
    small = dataclasses.replace(TINY, vocab_size=1000, eos_token_id=0, pad_token_id=1)
    _, config = get_host().registry("models").resolve("olmo")
    for f in dataclasses.fields(small):
        setattr(config, f.name, getattr(small, f.name))
    path = save_model(tmp_path / "step000001", tiny_model(small), config)
    with pytest.raises(ConfigError, match="no tokenizer.json: pass tokenizer="):
        load_eval_model(path)
    with pytest.raises(ConfigError, match=r"has 50,280 tokens but the model's vocabulary has 1,000"):
        load_eval_model(path, tokenizer="olmo-v1.5")
