"""Optimizer state as tensors keyed by parameter name, so that checkpoints hold it in safetensors."""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["full_optimizer_state_dict", "load_optimizer_state", "optimizer_state"]


def _names(optimizer: torch.optim.Optimizer, model: torch.nn.Module) -> list[str]:
    by_id = {id(p): n for n, p in model.named_parameters()}
    return [by_id[id(p)] for group in optimizer.param_groups for p in group["params"]]


def _entries(names: list[str], tensors: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """Each named parameter's saved state (``<name>.<key>`` as ``key``), in the order of ``names``."""
    return [{key.removeprefix(f"{name}."): value for key, value in tensors.items()
             if key.startswith(f"{name}.") and "." not in key.removeprefix(f"{name}.")} for name in names]


def optimizer_state(optimizer: torch.optim.Optimizer, model: torch.nn.Module) -> tuple[dict[str, torch.Tensor],
                                                                                      list[dict[str, Any]]]:
    """``(tensors, groups)``: every state tensor as ``<param name>.<key>``, and the groups' settings."""
    state = optimizer.state_dict()
    names = _names(optimizer, model)
    tensors = {}
    for index, entries in state["state"].items():
        for key, value in entries.items():
            tensors[f"{names[index]}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    groups = [{k: v for k, v in g.items() if k != "params"} for g in state["param_groups"]]
    return tensors, groups


def load_optimizer_state(optimizer: torch.optim.Optimizer, model: torch.nn.Module, tensors: dict[str, torch.Tensor],
                         groups: list[dict[str, Any]]) -> None:
    """Restore what :func:`optimizer_state` saved into an optimizer built the same way."""
    state = {index: entries for index, entries in enumerate(_entries(_names(optimizer, model), tensors)) if entries}
    current = optimizer.state_dict()["param_groups"]
    restored = [{**saved, "params": group["params"]} for saved, group in zip(groups, current, strict=True)]
    optimizer.load_state_dict({"state": state, "param_groups": restored})


def full_optimizer_state_dict(optimizer: torch.optim.Optimizer, model: torch.nn.Module,
                              tensors: dict[str, torch.Tensor], groups: list[dict[str, Any]]) -> dict[str, Any]:
    """What :func:`optimizer_state` saved, as the parameter-name-keyed optimizer state dict of
    ``torch.distributed.checkpoint.state_dict`` (to load whole state into a sharded model)."""
    names = _names(optimizer, model)
    state = {name: entries for name, entries in zip(names, _entries(names, tensors), strict=True) if entries}
    by_id = {id(p): n for n, p in model.named_parameters()}
    param_groups = [{**saved, "params": [by_id[id(p)] for p in group["params"]]}
                    for saved, group in zip(groups, optimizer.param_groups, strict=True)]
    return {"state": state, "param_groups": param_groups}
