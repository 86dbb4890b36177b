"""The checkpoint adaptation starts from, and the tokenizer that must go with it.

A model is never paired with another vocabulary: the tokenizer is the one saved with the checkpoint; one named
by the user must be byte-identical to it (or, for a checkpoint saved without a tokenizer, fit its vocabulary
and EOS id); a DPO reference must carry the same tokenizer as the policy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmo_core.checkpoint import CheckpointError, load_checkpoint
from olmo_core.errors import ConfigError
from olmo_core.model_io import saved_tokenizer as core_saved_tokenizer
from olmo_core.tokenizer import Tokenizer, load_tokenizer

__all__ = ["check_same_tokenizer", "model_config", "resolve_tokenizer", "saved_tokenizer"]


def model_config(checkpoint: Path) -> dict[str, Any]:
    """The model config document (with ``_name_``) of a checkpoint, without loading its weights."""
    documents = load_checkpoint(checkpoint, groups=()).documents
    if "model_config" not in documents:
        raise ConfigError(f"{checkpoint} is not a model checkpoint (no model_config.json)")
    return documents["model_config"]  # type: ignore[no-any-return]


def saved_tokenizer(checkpoint: Path) -> Tokenizer | None:
    """The tokenizer saved with a checkpoint (checked against its recorded identity), if any."""
    try:
        return core_saved_tokenizer(checkpoint)
    except CheckpointError as exc:
        raise ConfigError(str(exc)) from exc


def resolve_tokenizer(checkpoint: Path, spec: str | None = None) -> Tokenizer:
    """The tokenizer to adapt ``checkpoint`` with; ``spec`` (a name or path) is refused unless it matches."""
    saved = saved_tokenizer(checkpoint)
    if spec is None:
        if saved is None:
            raise ConfigError(f"{checkpoint} was saved without a tokenizer: name the one it was trained with "
                              f"(tokenizer=<name or tokenizer.json>)")
        return saved
    given = load_tokenizer(spec)
    if saved is not None and given.sha256 != saved.sha256:
        raise ConfigError(f"tokenizer {spec!r} does not match the tokenizer saved with {checkpoint} ({saved.name}, "
                          f"sha256 {saved.sha256[:12]}): drop tokenizer= to use the checkpoint's own")
    config = model_config(checkpoint)
    vocab, eos = config.get("vocab_size"), config.get("eos_token_id")
    if saved is None and ((vocab is not None and given.vocab_size > vocab) or (eos is not None and eos != given.eos_token_id)):
        raise ConfigError(f"tokenizer {spec!r} (vocab {given.vocab_size}, EOS {given.eos_token_id}) does not fit the "
                          f"model of {checkpoint} (vocab_size {vocab}, eos_token_id {eos})")
    return given


def check_same_tokenizer(checkpoint: Path, tokenizer: Tokenizer) -> None:
    """Refuse ``checkpoint`` unless it was saved with ``tokenizer``."""
    saved = saved_tokenizer(checkpoint)
    if saved is None or saved.sha256 != tokenizer.sha256:
        raise ConfigError(f"{checkpoint} was saved with {'no tokenizer' if saved is None else saved.name} but the "
                          f"policy uses {tokenizer.name}: the reference must share the policy's tokenizer")
