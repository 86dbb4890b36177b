"""The kinds of model that ``olmo eval``, ``olmo generate`` and ``olmo chat`` load, registered as ``eval_models``.

A runtime says which directory it loads at a path (``find``), reads the tokenizer saved there
(``tokenizer``) and loads the model (``load``), which the scoring engine then calls as
``model(input_ids) -> logits``. The first registered runtime that finds a directory loads it: a plugin's
come before olmo's own, which are, in order, ``olmo`` (an olmo checkpoint), ``hf`` (a transformers OLMo or
OLMo-2 directory, converted to olmo's model for the fast path) and ``transformers`` (any other
``AutoModelForCausalLM`` directory: GPT-2, GPT-NeoX/Pythia, Llama, Mistral ...).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from olmo_core.artifacts import checkpoint_step_dir
from olmo_core.checkpoint import MANIFEST
from olmo_core.tokenizer import Tokenizer, read_hf_tokenizer

__all__ = ["OlmoCheckpoint", "TransformersCausalLM", "TransformersOLMo"]


def _model_type(path: Path) -> str | None:
    """The ``model_type`` of a transformers directory (``config.json`` and weights), else ``None``."""
    weights = any(path.glob("*.safetensors")) or any(path.glob("pytorch_model*.bin"))
    if not weights or not (path / "config.json").is_file():
        return None
    return str(json.loads((path / "config.json").read_text()).get("model_type", ""))


class OlmoCheckpoint:
    """An olmo checkpoint: a step directory, or the newest checkpoint of a run directory."""

    def find(self, path: Path) -> Path | None:
        step = Path(checkpoint_step_dir(str(path)))
        return step if (step / MANIFEST).is_file() else None

    def tokenizer(self, directory: Path) -> Tokenizer | None:
        from olmo_core.model_io import saved_tokenizer

        return saved_tokenizer(directory)

    def load(self, directory: Path, device: str) -> tuple[Any, int | None]:
        from olmo_core.model_io import load_model

        loaded = load_model(directory, device=device)
        return loaded.model, loaded.trainer.get("step")


class TransformersCausalLM:
    """Any transformers causal language model directory, run through its own forward pass."""

    model_types: tuple[str, ...] | None = None
    """The ``model_type`` values it loads (``None``: any)."""

    def find(self, path: Path) -> Path | None:
        found = _model_type(path)
        return path if found is not None and (self.model_types is None or found in self.model_types) else None

    def tokenizer(self, directory: Path) -> Tokenizer | None:
        return read_hf_tokenizer(directory)

    def load(self, directory: Path, device: str) -> tuple[Any, int | None]:
        from olmo_core.nn.causal_lm import CausalLM
        from olmo_core.nn.hf import transformers_module

        model = transformers_module().AutoModelForCausalLM.from_pretrained(directory, local_files_only=True)
        return CausalLM(model.float()).to(device), None  # fp32 whatever the stored dtype, as olmo's own models


class TransformersOLMo(TransformersCausalLM):
    """A transformers OLMo or OLMo-2 directory, converted to olmo's own model."""

    model_types = ("olmo", "olmo2")

    def load(self, directory: Path, device: str) -> tuple[Any, int | None]:
        from olmo_core.nn.hf import load_hf

        return load_hf(directory).to(device), None
