"""The checkpoint format: one directory per step, complete or absent.

A checkpoint directory holds tensor groups as safetensors (``model.safetensors``, ``optim.safetensors``),
JSON documents (trainer and data-loader state, the resolved config, the plugin list) and ``manifest.json``
with the sha256 and size of every other file. It is written under a temporary name beside its final one and
renamed when everything, manifest last, is on disk, so a killed writer leaves only a temporary directory that
readers ignore. Loading verifies every hash and refuses any file that could hold a pickle.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from olmo_core.errors import MissingDependencyError, OlmoError
from olmo_core.io import sha256_file

if TYPE_CHECKING:
    import torch

__all__ = ["Checkpoint", "CheckpointError", "checkpoint_dirs", "latest_checkpoint", "load_checkpoint",
           "load_model_state", "save_checkpoint", "step_dir"]

FORMAT = "olmo-checkpoint/1"
MANIFEST = "manifest.json"
SAFE_SUFFIXES = (".safetensors", ".json", ".yaml", ".txt", ".md")
STEP_PATTERN = re.compile(r"^step(\d+)$")


class CheckpointError(OlmoError):
    """A checkpoint is incomplete, corrupt, unsafe, or does not fit the model it is loaded into."""


@dataclass(frozen=True)
class Checkpoint:
    """A loaded checkpoint: tensor groups and JSON documents, by name."""

    path: Path
    tensors: dict[str, dict[str, torch.Tensor]]
    documents: dict[str, Any]

    @property
    def step(self) -> int | None:
        """The step number of a ``stepN`` directory."""
        match = STEP_PATTERN.match(self.path.name)
        return int(match.group(1)) if match else None


def _torch() -> tuple[Any, Any]:
    try:
        import safetensors.torch
        import torch
    except ImportError:
        raise MissingDependencyError("checkpoints", distribution="olmo-core", extra="torch") from None
    return torch, safetensors.torch


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def step_dir(root: str | Path, step: int) -> Path:
    """The directory of step ``step`` under ``root`` (``root/step000042``)."""
    return Path(root) / f"step{step:06d}"


def save_checkpoint(path: str | Path, *, tensors: Mapping[str, Mapping[str, torch.Tensor]],
                    documents: Mapping[str, Any] | None = None, files: Mapping[str, bytes] | None = None) -> Path:
    """Write a checkpoint directory atomically and return its path.

    ``tensors`` maps a group name to its named tensors (one safetensors file per group); ``documents`` maps
    a name to JSON-able data (one ``<name>.json`` per entry); ``files`` are copied byte for byte (their
    names must end in a safe suffix, such as ``tokenizer.json``). An existing checkpoint at ``path`` is
    replaced only once the new one is complete.
    """
    _, st = _torch()
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        entries: dict[str, dict[str, Any]] = {}
        for group, named in tensors.items():
            target = tmp / f"{group}.safetensors"
            st.save_file({k: v.detach().contiguous().cpu() for k, v in named.items()}, str(target),
                         metadata={"format": FORMAT})  # one key: safetensors orders metadata at random
            entries[target.name] = {}
        for name, value in (documents or {}).items():
            target = tmp / f"{name}.json"
            target.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")
            entries[target.name] = {}
        for name, data in (files or {}).items():
            if not name.endswith(SAFE_SUFFIXES) or "/" in name or name == MANIFEST or name in entries:
                raise CheckpointError(f"cannot store file {name!r} in a checkpoint")
            (tmp / name).write_bytes(data)
            entries[name] = {}
        for name in entries:
            _fsync(tmp / name)
            entries[name] = {"sha256": sha256_file(tmp / name), "bytes": (tmp / name).stat().st_size}
        manifest = {"format": FORMAT, "files": entries, "tensor_groups": sorted(tensors),
                    "documents": sorted(documents or {})}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        _fsync(tmp / MANIFEST)
        if final.exists():
            old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
            final.rename(old)
            tmp.rename(final)
            shutil.rmtree(old)
        else:
            tmp.rename(final)
        _fsync(final.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return final


def verify_checkpoint(path: str | Path) -> dict[str, Any]:
    """Check that ``path`` is a complete, unaltered, pickle-free checkpoint; return its manifest."""
    root = Path(path)
    if not root.is_dir():
        raise CheckpointError(f"no checkpoint at {root}")
    if not (root / MANIFEST).is_file():
        raise CheckpointError(f"{root} has no {MANIFEST}: it is not a complete olmo checkpoint")
    manifest = json.loads((root / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"{root} has format {manifest.get('format')!r}, expected {FORMAT!r}")
    for file in sorted(p.name for p in root.iterdir()):
        if not file.endswith(SAFE_SUFFIXES):
            raise CheckpointError(f"refusing to load {root / file}: only safetensors and JSON are loaded from "
                                  f"checkpoints (files that may hold pickles are never loaded)")
        if file != MANIFEST and file not in manifest["files"]:
            raise CheckpointError(f"{root / file} is not in the checkpoint's manifest")
    for file, expected in manifest["files"].items():
        target = root / file
        if not target.is_file():
            raise CheckpointError(f"{target} is missing: the checkpoint is incomplete")
        if sha256_file(target) != expected["sha256"]:
            raise CheckpointError(f"{target} does not match its sha256 in the manifest: the checkpoint is corrupt")
    return manifest


def load_checkpoint(path: str | Path, *, groups: tuple[str, ...] | None = None) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint`, after verifying it."""
    _, st = _torch()
    root = Path(path)
    manifest = verify_checkpoint(root)
    wanted = manifest["tensor_groups"] if groups is None else list(groups)
    for group in wanted:
        if group not in manifest["tensor_groups"]:
            raise CheckpointError(f"{root} has no tensor group '{group}' (it has {manifest['tensor_groups']})")
    tensors = {g: st.load_file(str(root / f"{g}.safetensors")) for g in wanted}
    documents = {n: json.loads((root / f"{n}.json").read_text()) for n in manifest["documents"]}
    return Checkpoint(root, tensors, documents)


def checkpoint_dirs(root: str | Path) -> list[Path]:
    """The complete ``stepN`` checkpoints under ``root``, oldest first (temporary directories are skipped)."""
    base = Path(root)
    found = [p for p in base.iterdir() if STEP_PATTERN.match(p.name) and (p / MANIFEST).is_file()] \
        if base.is_dir() else []
    return sorted(found, key=lambda p: int(STEP_PATTERN.match(p.name).group(1)))  # type: ignore[union-attr]


def latest_checkpoint(root: str | Path) -> Path | None:
    """The newest complete checkpoint under ``root``, or ``None``."""
    found = checkpoint_dirs(root)
    return found[-1] if found else None


def load_model_state(model: torch.nn.Module, tensors: Mapping[str, torch.Tensor], *, where: str = "checkpoint") -> None:
    """Copy ``tensors`` into ``model``; any missing, unexpected or mis-shaped tensor fails with the full list."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    misshaped = sorted(f"{k} {tuple(tensors[k].shape)} != {tuple(expected[k].shape)}"
                       for k in set(expected) & set(tensors) if tensors[k].shape != expected[k].shape)
    problems = [f"missing: {', '.join(missing)}" if missing else "",
                f"unexpected: {', '.join(unexpected)}" if unexpected else "",
                f"mis-shaped (checkpoint != model): {'; '.join(misshaped)}" if misshaped else ""]
    problems = [p for p in problems if p]
    if problems:
        raise CheckpointError(f"the {where} does not fit the model: " + " | ".join(problems))
    model.load_state_dict(dict(tensors), strict=True)
