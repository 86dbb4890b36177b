"""Saving and loading models as olmo checkpoints: weights, the config that rebuilds them, the tokenizer.

A model checkpoint holds ``model.safetensors``, ``model_config.json`` (the model's registry name in
``_name_`` and its config fields, so that any registered architecture is rebuilt by name),
``tokenizer.json`` (byte for byte) with ``tokenizer_identity.json``, ``trainer.json`` (at least the step)
and ``plugins.json`` (what was installed when it was written). A sharded training checkpoint (``shards/``,
written by FSDP) holds the same documents and loads the same way, in one process.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from olmo_core.checkpoint import (CheckpointError, is_sharded, load_checkpoint, load_model_state, load_sharded,
                                  save_checkpoint)
from olmo_core.config import NAME_KEY, to_dict
from olmo_core.plugins import get_host
from olmo_core.tokenizer import Tokenizer

if TYPE_CHECKING:
    import torch

__all__ = ["LoadedModel", "load_model", "model_config_document", "model_documents", "save_model", "saved_tokenizer"]


@dataclasses.dataclass
class LoadedModel:
    """A model rebuilt from a checkpoint, with its config node, tokenizer and trainer state."""

    model: torch.nn.Module
    config: Any
    tokenizer: Tokenizer | None
    trainer: dict[str, Any]
    path: Path


def model_config_document(config: Any) -> dict[str, Any]:
    """The JSON that rebuilds a model: its config fields and the registry name in ``_name_``."""
    document = to_dict(config)
    if NAME_KEY not in document:
        raise CheckpointError("the model config carries no registry name (_name_): build it through the registry")
    return document


def model_documents(config: Any, *, tokenizer: Tokenizer | None = None, trainer: dict[str, Any] | None = None,
                    extra_documents: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, bytes]]:
    """``(documents, files)`` of a model checkpoint besides its tensors: model config, trainer state, plugin
    list, tokenizer identity and ``tokenizer.json``."""
    documents: dict[str, Any] = {"model_config": model_config_document(config), "trainer": trainer or {"step": 0},
                                 "plugins": get_host().describe(), **(extra_documents or {})}
    files: dict[str, bytes] = {}
    if tokenizer is not None:
        documents["tokenizer_identity"] = tokenizer.identity
        files["tokenizer.json"] = tokenizer.json_text.encode("utf-8")
    return documents, files


def save_model(path: str | Path, model: torch.nn.Module, config: Any, *, tokenizer: Tokenizer | None = None,
               trainer: dict[str, Any] | None = None, extra_tensors: dict[str, dict[str, torch.Tensor]] | None = None,
               extra_documents: dict[str, Any] | None = None) -> Path:
    """Write ``model`` (built from the registry ``config``) as an olmo checkpoint at ``path``."""
    documents, files = model_documents(config, tokenizer=tokenizer, trainer=trainer, extra_documents=extra_documents)
    tensors = {"model": model.state_dict(), **(extra_tensors or {})}
    return save_checkpoint(path, tensors=tensors, documents=documents, files=files)


def load_model(path: str | Path, *, device: str | None = None) -> LoadedModel:
    """Rebuild the model saved at ``path`` (whole or sharded) through the model registry and load its weights."""
    checkpoint = load_checkpoint(path, groups=("model",))
    if "model_config" not in checkpoint.documents:
        raise CheckpointError(f"{path} holds no model_config.json: it is not a model checkpoint")
    config = checkpoint.documents["model_config"]
    model = get_host().registry("models").build(config)
    if is_sharded(path):
        load_sharded(path, {"model": model.state_dict()}, where=f"checkpoint {path}")
    else:
        load_model_state(model, checkpoint.tensors["model"], where=f"checkpoint {path}")
    if device is not None:
        model = model.to(device)
    tokenizer = saved_tokenizer(Path(path), checkpoint.documents.get("tokenizer_identity"))
    return LoadedModel(model, config, tokenizer, checkpoint.documents.get("trainer", {}), Path(path))


def saved_tokenizer(path: Path, identity: dict[str, Any] | None = None) -> Tokenizer | None:
    """The tokenizer saved with the checkpoint at ``path``, checked against its recorded identity (read from
    the checkpoint unless given); ``None`` for a checkpoint saved without one."""
    if identity is None:
        identity = load_checkpoint(path, groups=()).documents.get("tokenizer_identity")
    file = path / "tokenizer.json"
    if not file.is_file() or not identity:
        return None
    from tokenizers import Tokenizer as HFTokenizer

    text = file.read_text(encoding="utf-8")
    backend = HFTokenizer.from_str(text)
    pad_id = identity.get("pad_token_id")
    tokenizer = Tokenizer(backend, name=identity["name"], json_text=text,
                          eos_token=backend.id_to_token(identity["eos_token_id"]),
                          pad_token=backend.id_to_token(pad_id) if pad_id is not None else None)
    if tokenizer.sha256 != identity["sha256"]:
        raise CheckpointError(f"{file} does not match the tokenizer identity recorded with the model")
    return tokenizer
