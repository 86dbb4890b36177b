"""A tokenizer that does not match the checkpoint is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from olmo_core.errors import ConfigError

from olmo_adapt.checkpoints import check_same_tokenizer, resolve_tokenizer
from tests.adapt.conftest import make_checkpoint


def test_the_checkpoints_own_tokenizer_is_used(tiny_checkpoint: Path) -> None:
    assert resolve_tokenizer(tiny_checkpoint).name == "olmo-v1.5"
    assert resolve_tokenizer(tiny_checkpoint, "olmo-v1.5").eos_token_id == 50279


def test_another_tokenizer_is_refused(tiny_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not match the tokenizer saved with"):
        resolve_tokenizer(tiny_checkpoint, "dolma2")
    other = resolve_tokenizer(tiny_checkpoint)
    (tmp_path / "tokenizer.json").write_text(other.json_text.replace('"<|padding|>"', '"<|pad|>"', 1))
    with pytest.raises(ConfigError, match="does not match"):
        resolve_tokenizer(tiny_checkpoint, str(tmp_path / "tokenizer.json"))


def test_a_reference_with_another_tokenizer_is_refused(tiny_checkpoint: Path, tmp_path: Path) -> None:
    tokenizer = resolve_tokenizer(tiny_checkpoint)
    check_same_tokenizer(tiny_checkpoint, tokenizer)
    dolma2 = make_checkpoint(tmp_path / "dolma2", tokenizer="dolma2", overrides=(
        "model.vocab_size=100278", "model.eos_token_id=100257", "model.pad_token_id=100277"))
    with pytest.raises(ConfigError, match="must share the policy's tokenizer"):
        check_same_tokenizer(dolma2, tokenizer)
