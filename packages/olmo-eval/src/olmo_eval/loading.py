"""Loading a model to evaluate: an olmo checkpoint (a step directory, or a run directory whose newest
checkpoint is taken) or a transformers OLMo directory, with its tokenizer, checked to fit each other."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_core.checkpoint import MANIFEST, latest_checkpoint
from olmo_core.errors import ConfigError
from olmo_core.tokenizer import Tokenizer, load_tokenizer

__all__ = ["EvalModel", "check_vocabulary", "load_eval_model", "resolve_checkpoint"]


@dataclass
class EvalModel:
    """A model ready to evaluate, its tokenizer and where it came from."""

    model: Any
    tokenizer: Tokenizer
    path: Path
    kind: str
    """``"olmo"`` (an olmo checkpoint) or ``"hf"`` (a transformers directory)."""
    step: int | None = None


def resolve_checkpoint(path: str | Path) -> tuple[Path, str]:
    """``(directory, kind)`` of the model at ``path``: a checkpoint step directory, the newest checkpoint of
    a run directory (``<run>/checkpoints/stepN`` or ``<run>/stepN``), or a transformers directory."""
    root = Path(path)
    if not root.is_dir():
        raise ConfigError(f"checkpoint={path}: no such directory")
    if (root / MANIFEST).is_file():
        return root, "olmo"
    if (root / "config.json").is_file() and any(root.glob("*.safetensors")):
        return root, "hf"
    for folder in (root / "checkpoints", root):
        newest = latest_checkpoint(folder)
        if newest is not None:
            return newest, "olmo"
    raise ConfigError(f"checkpoint={path} is neither an olmo checkpoint (manifest.json), a run directory with "
                      f"checkpoints/stepN, nor a transformers directory (config.json and *.safetensors)")


def check_vocabulary(model: Any, tokenizer: Tokenizer, where: str) -> None:
    """Fail with a clear message when ``tokenizer`` can produce ids that ``model`` has no embedding for."""
    rows = _embedding_rows(model)
    if rows is not None and tokenizer.vocab_size > rows:
        raise ConfigError(f"{where}: the tokenizer {tokenizer.name} has {tokenizer.vocab_size:,} tokens but the "
                          f"model's vocabulary has {rows:,}: the model was not trained with this tokenizer "
                          f"(pass tokenizer=<the model's tokenizer>)")


def _embedding_rows(model: Any) -> int | None:
    inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None) or model
    config = getattr(inner, "config", None)
    vocab = getattr(config, "vocab_size", None)
    return int(vocab) if isinstance(vocab, int) else None


def _hf_tokenizer(directory: Path) -> Tokenizer | None:
    if not (directory / "tokenizer.json").is_file():
        return None
    settings = json.loads((directory / "tokenizer_config.json").read_text()) \
        if (directory / "tokenizer_config.json").is_file() else {}

    def text(value: Any) -> str | None:
        return value.get("content") if isinstance(value, dict) else value

    return Tokenizer.from_file(str(directory), name=f"{directory.name}/tokenizer.json",
                               eos_token=text(settings.get("eos_token")) or "<|endoftext|>",
                               pad_token=text(settings.get("pad_token")))


def load_eval_model(path: str | Path, *, tokenizer: str | None = None, device: str = "cpu") -> EvalModel:
    """The model at ``path`` in eval mode on ``device``, with ``tokenizer`` (a registered name or a path)
    or else the one saved beside the model."""
    directory, kind = resolve_checkpoint(path)
    step = None
    if kind == "olmo":
        from olmo_core.model_io import load_model

        loaded = load_model(directory, device=device)
        model, saved, step = loaded.model, loaded.tokenizer, loaded.trainer.get("step")
    else:
        from olmo_core.nn.hf import load_hf

        model, saved = load_hf(directory).to(device), _hf_tokenizer(directory)
    chosen = load_tokenizer(tokenizer) if tokenizer else saved
    if chosen is None:
        raise ConfigError(f"{directory} has no tokenizer.json: pass tokenizer=<name or path>")
    check_vocabulary(model, chosen, str(directory))
    return EvalModel(model=model.eval(), tokenizer=chosen, path=directory, kind=kind, step=step)
