"""Loading a model to evaluate with the first registered runtime (``eval_models``, :mod:`olmo_core.runtimes`)
that finds one at the path, with its tokenizer, checked to fit each other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_core.errors import ConfigError
from olmo_core.model_commands import find_model
from olmo_core.tokenizer import Tokenizer, check_tokenizer_fits, load_tokenizer

__all__ = ["EvalModel", "load_eval_model", "resolve_checkpoint"]


@dataclass
class EvalModel:
    """A model ready to evaluate, its tokenizer and where it came from."""

    model: Any
    tokenizer: Tokenizer
    path: Path
    kind: str
    """The runtime that loaded it: ``"olmo"`` (an olmo checkpoint), ``"hf"`` (a transformers OLMo directory),
    ``"transformers"`` (any other transformers causal LM) or a plugin's."""
    step: int | None = None


def resolve_checkpoint(path: str | Path) -> tuple[Path, str]:
    """``(directory, kind)`` of the model at ``path``: a checkpoint step directory, the newest checkpoint of
    a run directory (``<run>/checkpoints/stepN`` or ``<run>/stepN``), a transformers directory, or what a
    plugin's runtime finds there."""
    directory, kind, _ = find_model(path)
    return directory, kind


def load_eval_model(path: str | Path, *, tokenizer: str | None = None, device: str = "cpu") -> EvalModel:
    """The model at ``path`` in eval mode on ``device``, with ``tokenizer`` (a registered name or a path)
    or else the one saved beside the model. The tokenizer is settled before any weights are loaded, so a
    model directory without one fails at once."""
    directory, kind, runtime = find_model(path)
    chosen = load_tokenizer(tokenizer) if tokenizer else runtime.tokenizer(directory)
    if chosen is None:
        raise ConfigError(f"{directory} has no tokenizer.json: pass tokenizer=<name or path>")
    model, step = runtime.load(directory, device)
    vocab = getattr(getattr(model, "config", None), "vocab_size", None)
    check_tokenizer_fits(chosen, where=str(directory), vocab_size=vocab,
                         hint="the model was not trained with this tokenizer (pass tokenizer=<the model's tokenizer>)")
    return EvalModel(model=model.eval(), tokenizer=chosen, path=directory, kind=kind, step=step)
