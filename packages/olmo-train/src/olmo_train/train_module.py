"""The train module: the model being trained, its optimizer and the backend that places them (OLMo-core's
``TrainModule``).

The trainer runs the loop around it; checkpoints (:mod:`olmo_train.checkpointing`) save and restore it
through :meth:`TrainModule.state_dict` and :meth:`TrainModule.load_state_dict`, in one of two forms:

* whole (``single``, ``ddp``): ``{"model": {name: tensor}, "optim": {"<param>.<key>": tensor},
  "optim_groups": [settings of each parameter group]}``, what a whole checkpoint holds;
* distributed (``fsdp``, and any sharded checkpoint): ``{"model": ..., "optim": ...}`` as
  ``torch.distributed.checkpoint.state_dict`` gives them (the model's tensors or DTensors by name; the optimizer's
  ``{"state": {param name: {key: tensor}}, "param_groups": [...]}``), what torch distributed checkpoint
  reads and writes shard by shard.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from olmo_core.checkpoint import (CheckpointError, is_sharded, load_checkpoint, load_model_state, load_sharded,
                                  model_state_problems)
from olmo_core.errors import ConfigError
from olmo_core.tokenizer import Tokenizer

from olmo_train.optim_state import full_optimizer_state_dict, load_optimizer_state, optimizer_state

__all__ = ["TrainModule", "load_initial_weights"]


class TrainModule:
    """Owns the plain model, the module the backend made of it for training, the optimizer and the backend.

    :param model: the plain model (built from the model registry, initial weights loaded).
    :param backend: the training backend; it places (and wraps or shards) ``model``.
    :param optimizer: builds the optimizer over the placed plain model's parameters (after sharding, so that
        an FSDP optimizer holds the shards).
    """

    def __init__(self, model: torch.nn.Module, backend: Any,
                 optimizer: Callable[[torch.nn.Module], torch.optim.Optimizer]) -> None:
        self.backend = backend
        self.plain_model = model
        self.model = backend.prepare(model)
        """The module to call (wrapped by DDP, or the plain model sharded in place by FSDP)."""
        self.optimizer = optimizer(model)
        self._closed = False

    @property
    def sharded(self) -> bool:
        """Whether parameters and optimizer state are sharded over processes."""
        return bool(self.backend.sharded)

    def state_dict(self, *, distributed: bool | None = None) -> dict[str, Any]:
        """Model and optimizer state, whole or distributed (default: distributed when the backend shards)."""
        distributed = self.sharded if distributed is None else distributed
        if distributed:
            from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_optimizer_state_dict

            return {"model": get_model_state_dict(self.plain_model),
                    "optim": get_optimizer_state_dict(self.plain_model, self.optimizer)}
        if self.sharded:
            raise ValueError("a sharded train module gives its state in the distributed form only")
        tensors, groups = optimizer_state(self.optimizer, self.plain_model)
        return {"model": self.plain_model.state_dict(), "optim": tensors, "optim_groups": groups}

    def load_state_dict(self, state: dict[str, Any], *, distributed: bool = False, where: str = "state") -> None:
        """Load what :meth:`state_dict` returned (either form, into any backend); ``where`` names the state's
        origin in errors."""
        model, optimizer = self.plain_model, self.optimizer
        if distributed:
            from torch.distributed.checkpoint.state_dict import set_model_state_dict, set_optimizer_state_dict

            set_model_state_dict(model, state["model"])
            set_optimizer_state_dict(model, optimizer, state["optim"])
        elif self.sharded:
            from torch.distributed.checkpoint.state_dict import (StateDictOptions, set_model_state_dict,
                                                                 set_optimizer_state_dict)

            problems = model_state_problems(model.state_dict(), state["model"])
            if problems:
                raise CheckpointError(f"the {where} does not fit the model: " + " | ".join(problems))
            options = StateDictOptions(full_state_dict=True)
            set_model_state_dict(model, state["model"], options=options)
            full = full_optimizer_state_dict(optimizer, model, state["optim"], state["optim_groups"])
            set_optimizer_state_dict(model, optimizer, full, options=options)
        else:
            load_model_state(model, state["model"], where=where)
            load_optimizer_state(optimizer, model, state["optim"], state["optim_groups"])

    def close(self) -> None:
        """Release the backend (its process group); later calls do nothing."""
        if not self._closed:
            self._closed = True
            self.backend.close()


def load_initial_weights(model: torch.nn.Module, path: str | Path, *, model_config: Any = None) -> Tokenizer | None:
    """Copy the weights of the checkpoint at ``path`` (whole or sharded; a training run's directory: its newest
    complete checkpoint) into ``model``, which the caller built from the model registry (with ``model_config``,
    when given: a checkpoint of another shape is then refused with the options that differ); return the
    checkpoint's tokenizer (``None`` when it was saved without one)."""
    from olmo_core.artifacts import require_checkpoint
    from olmo_core.model_io import saved_tokenizer

    path = require_checkpoint(str(path), key="init_from")
    where = f"init_from={path}"
    checkpoint = load_checkpoint(path, groups=("model",))
    if "model_config" not in checkpoint.documents:
        raise CheckpointError(f"{path} holds no model_config.json: it is not a model checkpoint")
    saved = checkpoint.documents["model_config"]
    if is_sharded(path):
        try:
            load_sharded(path, {"model": model.state_dict()}, where=where)  # fills the model's tensors in place
        except CheckpointError:
            if model_config is not None and _config_differences(saved, model_config):
                raise ConfigError(_misfit(path, saved, model_config, [])) from None
            raise
    else:
        tensors = checkpoint.tensors["model"]
        if model_config is not None and model_state_problems(model.state_dict(), tensors):
            raise ConfigError(_misfit(path, saved, model_config, _tensor_misfits(model.state_dict(), tensors)))
        load_model_state(model, tensors, where=where)
    return saved_tokenizer(Path(path), checkpoint.documents.get("tokenizer_identity"))


def _config_differences(saved: dict[str, Any], model_config: Any) -> list[str]:
    """``key old -> new`` for each model option of the checkpoint (``saved``) that this run sets otherwise."""
    from olmo_core.model_io import model_config_document

    new = json.loads(json.dumps(model_config_document(model_config), default=str))
    keys = sorted(saved.keys() | new.keys())
    return [f"{key} {saved.get(key, '(unset)')} -> {new.get(key, '(unset)')}" for key in keys
            if saved.get(key) != new.get(key)]


def _tensor_misfits(expected: dict[str, Any], tensors: dict[str, torch.Tensor]) -> list[str]:
    """Each tensor that does not fit, as ``name (missing)``, ``name (unexpected)`` or ``name old != new``."""
    missing = [f"{name} (missing)" for name in expected if name not in tensors]
    unexpected = [f"{name} (unexpected)" for name in tensors if name not in expected]
    misshaped = [f"{name} {tuple(tensors[name].shape)} != {tuple(value.shape)}" for name, value in expected.items()
                 if name in tensors and tuple(tensors[name].shape) != tuple(value.shape)]
    return misshaped + missing + unexpected


def _misfit(path: str, saved: dict[str, Any], model_config: Any, misfits: list[str], *, shown: int = 3) -> str:
    """One line on a checkpoint whose model does not fit this run's: the options that differ, then at most
    ``shown`` of the tensors that do not fit."""
    differences = _config_differences(saved, model_config)
    what = (f"the init_from={path} model differs from this run's: {', '.join(differences)}: use the same model= "
            f"and model.* options as the run that saved it (its model_config.json)" if differences else
            f"the init_from={path} model does not fit this run's")
    if not misfits:
        return what
    more = f", and {len(misfits) - shown} more" if len(misfits) > shown else ""
    return f"{what} ({len(misfits)} tensors do not fit, checkpoint != this run: {'; '.join(misfits[:shown])}{more})"
