"""Loading a model to evaluate: an olmo checkpoint (a step directory, or a run directory whose newest
checkpoint is taken) or a transformers OLMo directory, with its tokenizer, checked to fit each other."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_core.artifacts import checkpoint_step_dir
from olmo_core.checkpoint import MANIFEST
from olmo_core.errors import ConfigError
from olmo_core.tokenizer import Tokenizer, check_tokenizer_fits, load_tokenizer, read_hf_tokenizer

__all__ = ["EvalModel", "load_eval_model", "resolve_checkpoint"]


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
    step = Path(checkpoint_step_dir(str(root)))
    if (step / MANIFEST).is_file():
        return step, "olmo"
    if (root / "config.json").is_file() and any(root.glob("*.safetensors")):
        return root, "hf"
    raise ConfigError(f"checkpoint={path} is neither an olmo checkpoint (manifest.json), a run directory with "
                      f"checkpoints/stepN, nor a transformers directory (config.json and *.safetensors)")


def load_eval_model(path: str | Path, *, tokenizer: str | None = None, device: str = "cpu") -> EvalModel:
    """The model at ``path`` in eval mode on ``device``, with ``tokenizer`` (a registered name or a path)
    or else the one saved beside the model. The tokenizer is settled before any weights are loaded, so a
    model directory without one fails at once."""
    directory, kind = resolve_checkpoint(path)
    if tokenizer:
        chosen = load_tokenizer(tokenizer)
    else:
        from olmo_core.model_io import saved_tokenizer

        chosen = saved_tokenizer(directory) if kind == "olmo" else read_hf_tokenizer(directory)
        if chosen is None:
            raise ConfigError(f"{directory} has no tokenizer.json: pass tokenizer=<name or path>")
    step = None
    if kind == "olmo":
        from olmo_core.model_io import load_model

        loaded = load_model(directory, device=device)
        model, step = loaded.model, loaded.trainer.get("step")
    else:
        from olmo_core.nn.hf import load_hf

        model = load_hf(directory).to(device)
    vocab = getattr(getattr(model, "config", None), "vocab_size", None)
    check_tokenizer_fits(chosen, where=str(directory), vocab_size=vocab,
                         hint="the model was not trained with this tokenizer (pass tokenizer=<the model's tokenizer>)")
    return EvalModel(model=model.eval(), tokenizer=chosen, path=directory, kind=kind, step=step)
