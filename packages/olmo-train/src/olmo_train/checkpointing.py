"""Training checkpoints for every backend, and resuming from either kind at any world size.

``single`` and ``ddp`` keep whole parameters on every rank: rank 0 writes a whole checkpoint
(``model.safetensors``, ``optim.safetensors`` keyed by parameter name) while the others wait. ``fsdp`` shards
them: every rank writes its shards of the model and optimizer state through torch distributed checkpoint
(``shards/``, safetensors files that record where each piece sits in the full tensor), and rank 0 adds the
documents (trainer and data-loader state, config, plugins, tokenizer) and the manifest and renames the
directory into place once every rank is done. Either kind resumes on any backend and world size: the data
loader's state counts instances of the global order, not per rank.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist

from olmo_core.checkpoint import (SHARDS, CheckpointError, is_sharded, load_checkpoint, load_model_state,
                                  load_sharded, model_state_problems, save_checkpoint, staging_dir, step_dir)
from olmo_core.model_io import model_documents, save_model
from olmo_train.optim_state import full_optimizer_state_dict, load_optimizer_state, optimizer_state

if TYPE_CHECKING:
    from olmo_train.trainer import Trainer

__all__ = ["restore_checkpoint", "save_training_checkpoint"]


def _groups(optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    return [{k: v for k, v in g.items() if k != "params"} for g in optimizer.state_dict()["param_groups"]]


def save_training_checkpoint(trainer: Trainer, state: dict[str, Any], tokenizer: Any) -> Path:
    """Write the checkpoint of ``trainer.step`` with trainer ``state``; every rank calls this."""
    final = step_dir(trainer.checkpoints, trainer.step)
    if trainer.backend.sharded:
        return _save_sharded(trainer, final, state, tokenizer)
    if trainer.is_main:
        tensors, groups = optimizer_state(trainer.optimizer, trainer.plain_model)
        save_model(final, trainer.plain_model, trainer.config.model, tokenizer=tokenizer, trainer=state,
                   extra_tensors={"optim": tensors, "rng": {"torch": torch.get_rng_state()}},
                   extra_documents={"optim_groups": groups})
    trainer.backend.barrier()
    return final


def _save_sharded(trainer: Trainer, final: Path, state: dict[str, Any], tokenizer: Any) -> Path:
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import get_model_state_dict, get_optimizer_state_dict

    token = [uuid.uuid4().hex[:8]]
    dist.broadcast_object_list(token, src=0)
    staged = staging_dir(final, token[0])
    staged.mkdir(parents=True, exist_ok=True)
    model = get_model_state_dict(trainer.plain_model)
    optim = get_optimizer_state_dict(trainer.plain_model, trainer.optimizer)
    dcp.save({"model": model, "optim": optim["state"]},
             storage_writer=dcp.HuggingFaceStorageWriter(str(staged / SHARDS), save_distributed=True))
    trainer.backend.barrier()
    if trainer.is_main:
        documents, files = model_documents(trainer.config.model, tokenizer=tokenizer, trainer=state,
                                           extra_documents={"optim_groups": _groups(trainer.optimizer),
                                                            "rng": torch.get_rng_state().tolist()})
        save_checkpoint(final, tensors={}, documents=documents, files=files, staged=staged,
                        sharded={"world_size": trainer.world_size, "groups": ["model", "optim"]})
    trainer.backend.barrier()
    return final


def restore_checkpoint(trainer: Trainer, path: Path) -> dict[str, Any]:
    """Load model, optimizer and RNG state from ``path`` into ``trainer``; return the saved trainer state."""
    checkpoint = load_checkpoint(path)
    groups = checkpoint.documents["optim_groups"]
    where = f"checkpoint {path}"
    if is_sharded(path):
        _restore_sharded(trainer, path, groups, where)
        torch.set_rng_state(torch.tensor(checkpoint.documents["rng"], dtype=torch.uint8))
    elif trainer.backend.sharded:
        _restore_whole_into_shards(trainer, checkpoint.tensors, groups, where)
        torch.set_rng_state(checkpoint.tensors["rng"]["torch"])
    else:
        load_model_state(trainer.plain_model, checkpoint.tensors["model"], where=where)
        load_optimizer_state(trainer.optimizer, trainer.plain_model, checkpoint.tensors["optim"], groups)
        torch.set_rng_state(checkpoint.tensors["rng"]["torch"])
    return checkpoint.documents["trainer"]  # type: ignore[no-any-return]


def _restore_sharded(trainer: Trainer, path: Path, groups: list[dict[str, Any]], where: str) -> None:
    from torch.distributed.checkpoint.state_dict import (get_model_state_dict, get_optimizer_state_dict,
                                                         set_model_state_dict, set_optimizer_state_dict)

    model, optimizer = trainer.plain_model, trainer.optimizer
    model_state = get_model_state_dict(model)
    optim_state = get_optimizer_state_dict(model, optimizer)
    load_sharded(path, {"model": model_state, "optim": optim_state["state"]}, where=where)
    set_model_state_dict(model, model_state)
    param_groups = [{**saved, "params": current["params"]}
                    for saved, current in zip(groups, optim_state["param_groups"], strict=True)]
    set_optimizer_state_dict(model, optimizer, {"state": optim_state["state"], "param_groups": param_groups})


def _restore_whole_into_shards(trainer: Trainer, tensors: dict[str, dict[str, torch.Tensor]],
                               groups: list[dict[str, Any]], where: str) -> None:
    from torch.distributed.checkpoint.state_dict import (StateDictOptions, set_model_state_dict,
                                                         set_optimizer_state_dict)

    model, optimizer = trainer.plain_model, trainer.optimizer
    problems = model_state_problems(model.state_dict(), tensors["model"])
    if problems:
        raise CheckpointError(f"the {where} does not fit the model: " + " | ".join(problems))
    options = StateDictOptions(full_state_dict=True)
    set_model_state_dict(model, tensors["model"], options=options)
    state = full_optimizer_state_dict(optimizer, model, tensors["optim"], groups)
    set_optimizer_state_dict(model, optimizer, state, options=options)
