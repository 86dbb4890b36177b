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
from olmo_core.tokenizer import Tokenizer, check_tokenizer_fits, load_tokenizer

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
    given, config = load_tokenizer(spec), model_config(checkpoint)
    if saved is not None:
        check_tokenizer_fits(given, identity=saved.identity, where=str(checkpoint),
                             hint="drop tokenizer= to use the checkpoint's own")
    else:
        check_tokenizer_fits(given, vocab_size=config.get("vocab_size"), eos_token_id=config.get("eos_token_id"),
                             where=str(checkpoint), hint=f"tokenizer={spec} is not the one the model was trained with")
    return given


def check_same_tokenizer(checkpoint: Path, tokenizer: Tokenizer) -> None:
    """Refuse ``checkpoint`` unless it was saved with ``tokenizer``."""
    saved, hint = saved_tokenizer(checkpoint), "the reference must share the policy's tokenizer"
    if saved is None:
        raise ConfigError(f"{checkpoint} was saved with no tokenizer but the policy uses {tokenizer.name}: {hint}")
    check_tokenizer_fits(tokenizer, identity=saved.identity, where=str(checkpoint), hint=hint)
