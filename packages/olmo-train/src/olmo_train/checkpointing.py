"""Training checkpoints for every backend, and resuming from either kind at any world size.

What is saved comes from a :class:`~olmo_train.train_module.TrainModule` (model and optimizer) and from the
trainer's own state, passed explicitly (step, tokens seen, data-loader and callback states, config).

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

from olmo_core.checkpoint import (SHARDS, is_sharded, load_checkpoint, load_sharded, save_checkpoint, staging_dir,
                                  step_dir)
from olmo_core.model_io import model_documents

if TYPE_CHECKING:
    from olmo_core.tokenizer import Tokenizer

    from olmo_train.train_module import TrainModule

__all__ = ["restore_checkpoint", "save_training_checkpoint"]


def _groups(optimizer: torch.optim.Optimizer) -> list[dict[str, Any]]:
    return [{k: v for k, v in g.items() if k != "params"} for g in optimizer.state_dict()["param_groups"]]


def save_training_checkpoint(module: TrainModule, checkpoints: Path, *, step: int, tokens_seen: int,
                             data_loader: dict[str, Any], callbacks: dict[str, Any], config: dict[str, Any],
                             model_config: Any, tokenizer: Tokenizer | None) -> Path:
    """Write the checkpoint of ``step`` under ``checkpoints``: ``module``'s model and optimizer, the RNG, and the
    trainer's state (``tokens_seen``, the data loader's and the callbacks' states, the run's ``config`` as a
    dict); ``model_config`` is the model's registry config. Every rank calls this; it returns the step's
    directory once the checkpoint is complete."""
    final = step_dir(checkpoints, step)
    backend = module.backend
    state = {"step": step, "tokens_seen": tokens_seen, "data_loader": data_loader, "callbacks": callbacks,
             "config": config, "world_size": backend.world_size}
    if module.sharded:
        return _save_sharded(module, final, state, model_config, tokenizer)
    if backend.rank == 0:
        saved = module.state_dict(distributed=False)
        documents, files = model_documents(model_config, tokenizer=tokenizer, trainer=state,
                                           extra_documents={"optim_groups": saved["optim_groups"]})
        save_checkpoint(final, tensors={"model": saved["model"], "optim": saved["optim"],
                                        "rng": {"torch": torch.get_rng_state()}},
                        documents=documents, files=files)
    backend.barrier()
    return final


def _save_sharded(module: TrainModule, final: Path, state: dict[str, Any], model_config: Any,
                  tokenizer: Tokenizer | None) -> Path:
    import torch.distributed.checkpoint as dcp

    backend = module.backend
    token = [uuid.uuid4().hex[:8]]
    dist.broadcast_object_list(token, src=0)
    staged = staging_dir(final, token[0])
    staged.mkdir(parents=True, exist_ok=True)
    saved = module.state_dict(distributed=True)
    dcp.save({"model": saved["model"], "optim": saved["optim"]["state"]},
             storage_writer=dcp.HuggingFaceStorageWriter(str(staged / SHARDS), save_distributed=True))
    backend.barrier()
    if backend.rank == 0:
        documents, files = model_documents(model_config, tokenizer=tokenizer, trainer=state,
                                           extra_documents={"optim_groups": _groups(module.optimizer),
                                                            "rng": torch.get_rng_state().tolist()})
        save_checkpoint(final, tensors={}, documents=documents, files=files, staged=staged,
                        sharded={"world_size": backend.world_size, "groups": ["model", "optim"]})
    backend.barrier()
    return final


def restore_checkpoint(module: TrainModule, path: Path) -> dict[str, Any]:
    """Load model, optimizer and RNG state from ``path`` into ``module``; return the saved trainer state (step,
    tokens seen, data-loader and callback states) for the trainer to apply."""
    checkpoint = load_checkpoint(path)
    groups = checkpoint.documents["optim_groups"]
    where = f"checkpoint {path}"
    if is_sharded(path):
        state = module.state_dict(distributed=True)  # the module's own (possibly sharded) tensors, filled in place
        load_sharded(path, {"model": state["model"], "optim": state["optim"]["state"]}, where=where)
        state["optim"] = {"state": state["optim"]["state"],
                          "param_groups": [{**saved, "params": current["params"]} for saved, current
                                           in zip(groups, state["optim"]["param_groups"], strict=True)]}
        module.load_state_dict(state, distributed=True, where=where)
        torch.set_rng_state(torch.tensor(checkpoint.documents["rng"], dtype=torch.uint8))
    else:
        module.load_state_dict({"model": checkpoint.tensors["model"], "optim": checkpoint.tensors["optim"],
                                "optim_groups": groups}, where=where)
        torch.set_rng_state(checkpoint.tensors["rng"]["torch"])
    return checkpoint.documents["trainer"]  # type: ignore[no-any-return]
