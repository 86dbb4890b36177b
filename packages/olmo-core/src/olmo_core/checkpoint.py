"""The checkpoint format: one directory per step, complete or absent.

A checkpoint directory holds tensor groups as safetensors (``model.safetensors``, ``optim.safetensors``),
JSON documents (trainer and data-loader state, the resolved config, the plugin list) and ``manifest.json``
with the sha256 and size of every other file. It is written under a temporary name beside its final one and
renamed when everything, manifest last, is on disk, so a killed writer leaves only a temporary directory that
readers ignore. Loading verifies every hash and refuses any file that could hold a pickle.

A *sharded* checkpoint (written by several processes, each saving its shards of the parameters and the
optimizer state) holds its tensors in ``shards/`` instead of ``model.safetensors`` and ``optim.safetensors``:
torch distributed checkpoint's safetensors layout, one ``shard-NNNNN-model-00001-of-00001.safetensors`` per
rank whose header records where each piece sits in the full tensor. The manifest lists every shard with its
hash and says ``"sharded": {"directory": "shards", "world_size": N}``. It loads at any world size, and into a
plain model in a process with no process group (:func:`load_sharded`), so everything that reads a model
checkpoint reads a sharded one too.
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
from olmo_core.io import claimed, sha256_file

if TYPE_CHECKING:
    import torch

__all__ = ["MANIFEST", "SHARDS", "Checkpoint", "CheckpointError", "checkpoint_dirs", "is_sharded", "latest_checkpoint", "load_checkpoint",
           "load_model_state", "load_sharded", "model_state_problems", "save_checkpoint", "staging_dir", "step_dir"]

FORMAT = "olmo-checkpoint/1"
MANIFEST = "manifest.json"
SAFE_SUFFIXES = (".safetensors", ".json", ".yaml", ".txt", ".md")
STEP_PATTERN = re.compile(r"^step(\d+)$")
SHARDS = "shards"


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


def staging_dir(path: str | Path, token: str | None = None) -> Path:
    """The temporary directory a checkpoint for ``path`` is written in before it is renamed to ``path``.

    Processes that write one sharded checkpoint together pass the same ``token``.
    """
    final = Path(path)
    return final.parent / f".{final.name}.tmp-{token or uuid.uuid4().hex[:8]}"


def save_checkpoint(path: str | Path, *, tensors: Mapping[str, Mapping[str, torch.Tensor]],
                    documents: Mapping[str, Any] | None = None, files: Mapping[str, bytes] | None = None,
                    staged: Path | None = None, sharded: Mapping[str, Any] | None = None) -> Path:
    """Write a checkpoint directory atomically and return its path.

    ``tensors`` maps a group name to its named tensors (one safetensors file per group); ``documents`` maps
    a name to JSON-able data (one ``<name>.json`` per entry); ``files`` are copied byte for byte (their
    names must end in a safe suffix, such as ``tokenizer.json``). An existing checkpoint at ``path`` is
    replaced only once the new one is complete.

    For a sharded checkpoint, the processes first write their shards into ``staged /`` ``shards/`` (a
    :func:`staging_dir`); one process then calls this with ``staged`` and ``sharded`` (``{"world_size": N,
    "groups": [...]}``) to add the documents and the manifest and rename it into place.
    """
    _, st = _torch()
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = staged if staged is not None else staging_dir(final)
    try:
        with claimed(tmp, folder=True):  # remove_temporaries in another run leaves locked folders alone
            entries: dict[str, dict[str, Any]] = {}
            if sharded is not None:
                entries.update({f"{SHARDS}/{p.name}": {} for p in sorted((tmp / SHARDS).iterdir())})
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
            manifest: dict[str, Any] = {"format": FORMAT, "files": entries, "tensor_groups": sorted(tensors),
                                        "documents": sorted(documents or {})}
            if sharded is not None:
                manifest["sharded"] = {"directory": SHARDS, **sharded}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            _fsync(tmp / MANIFEST)
            if final.exists():
                old = final.parent / f".{final.name}.old-{uuid.uuid4().hex[:8]}"
                with claimed(final, folder=True):
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
        if (root / "config.json").is_file():  # a transformers model directory, not a broken olmo checkpoint
            raise CheckpointError(f"{root} looks like a transformers (Hugging Face) model directory (config.json, no "
                                  f"{MANIFEST}), not an olmo checkpoint: `olmo model import-hf checkpoint={root} "
                                  f"output=<dir>` converts it")
        raise CheckpointError(f"{root} has no {MANIFEST}: it is not a complete olmo checkpoint")
    manifest = json.loads((root / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise CheckpointError(f"{root} has format {manifest.get('format')!r}, expected {FORMAT!r}")
    shards = root / SHARDS
    listed = [p.name for p in root.iterdir() if p != shards]
    if "sharded" in manifest or shards.exists():
        listed += [f"{SHARDS}/{p.name}" for p in shards.iterdir()] if shards.is_dir() else [SHARDS]
    for file in sorted(listed):
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


def is_sharded(path: str | Path) -> bool:
    """Whether the checkpoint at ``path`` keeps its tensors in shards (torch distributed checkpoint)."""
    manifest = Path(path) / MANIFEST
    return manifest.is_file() and "sharded" in json.loads(manifest.read_text())


def load_checkpoint(path: str | Path, *, groups: tuple[str, ...] | None = None) -> Checkpoint:
    """Load a checkpoint written by :func:`save_checkpoint`, after verifying it.

    A sharded checkpoint comes back with its documents only: its tensors load into a model's own (possibly
    sharded) state through :func:`load_sharded`.
    """
    _, st = _torch()
    root = Path(path)
    manifest = verify_checkpoint(root)
    if "sharded" in manifest:
        documents = {n: json.loads((root / f"{n}.json").read_text()) for n in manifest["documents"]}
        return Checkpoint(root, {}, documents)
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


def load_sharded(path: str | Path, state: dict[str, Any], *, where: str | None = None) -> None:
    """Fill ``state`` (``{"model": {name: tensor}, "optim": ...}``, nested dicts of tensors or DTensors) in
    place from the shards of the checkpoint at ``path``, whatever world size wrote them.

    Inside an initialized process group every rank calls this together and reads only its own pieces;
    without one (evaluation, export, a single process) whole tensors are read.
    """
    _torch()
    import warnings

    import torch.distributed as dist
    import torch.distributed.checkpoint as dcp

    root = Path(path)
    distributed = dist.is_available() and dist.is_initialized()
    try:
        with warnings.catch_warnings():  # DCP warns that it loads in one process when there is no group
            warnings.filterwarnings("ignore", message="torch.distributed is disabled")
            dcp.load(state, storage_reader=dcp.HuggingFaceStorageReader(str(root / SHARDS)), no_dist=not distributed)
    except dcp.api.CheckpointException as exc:  # wraps each rank's error (a BaseException)
        causes = sorted({f"{type(f.exc).__name__}: {f.exc}" if hasattr(f, "exc") else str(f)
                         for f in exc.failures.values()})
        raise CheckpointError(f"the {where or f'checkpoint {root}'} does not fit: {'; '.join(causes)}") from None
    except (RuntimeError, KeyError, AssertionError, ValueError) as exc:
        raise CheckpointError(f"the {where or f'checkpoint {root}'} does not fit: {exc}") from exc


def model_state_problems(expected: Mapping[str, Any], tensors: Mapping[str, Any]) -> list[str]:
    """What keeps ``tensors`` from fitting a model whose state is ``expected`` (name -> tensor or shape):
    missing, unexpected and mis-shaped entries; empty when they fit."""
    shapes = {k: tuple(getattr(v, "shape", v)) for k, v in expected.items()}
    missing = sorted(set(shapes) - set(tensors))
    unexpected = sorted(set(tensors) - set(shapes))
    misshaped = sorted(f"{k} {tuple(tensors[k].shape)} != {shapes[k]}"
                       for k in set(shapes) & set(tensors) if tuple(tensors[k].shape) != shapes[k])
    problems = [f"missing: {', '.join(missing)}" if missing else "",
                f"unexpected: {', '.join(unexpected)}" if unexpected else "",
                f"mis-shaped (checkpoint != model): {'; '.join(misshaped)}" if misshaped else ""]
    return [p for p in problems if p]


def load_model_state(model: torch.nn.Module, tensors: Mapping[str, torch.Tensor], *, where: str = "checkpoint") -> None:
    """Copy ``tensors`` into ``model``; any missing, unexpected or mis-shaped tensor fails with the full list."""
    expected = model.state_dict()
    problems = model_state_problems(expected, tensors)
    if problems:
        raise CheckpointError(f"the {where} does not fit the model: " + " | ".join(problems))
    model.load_state_dict(dict(tensors), strict=True)
