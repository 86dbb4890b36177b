"""Artifacts: the small frozen values that jobs hand each other, each naming something on disk.

An artifact is a path (any fsspec URL) and a type: :class:`Dataset` (Dolma documents with their attributes,
quarantine and reports), :class:`TokenArrays` (token-array parts with the tokenizer that made them),
:class:`Checkpoint` (a checkpoint step directory) and :class:`EvalResults` (an evaluation's results). A job
declares the types it reads and writes (:mod:`olmo_core.jobs`); the pipeline wires a job's inputs from the
latest earlier output of the matching type. Each type says whether what it names is complete, so that an
interrupted job's output is never taken as input.
"""

from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass
from typing import Any, ClassVar

from olmo_core.checkpoint import MANIFEST, latest_checkpoint
from olmo_core.errors import ConfigError
from olmo_core.io import exists

__all__ = ["ARTIFACT_TYPES", "Artifact", "Checkpoint", "Dataset", "EvalResults", "JobRecord", "TokenArrays",
           "artifact_from_json", "checkpoint_step_dir", "require_checkpoint", "transformers_model_type"]

INCOMPLETE = ".incomplete"
"""A marker a job leaves in its output directory while it writes (and after it fails)."""


@dataclass(frozen=True, kw_only=True)
class Artifact:
    """Something a job wrote or reads, named by its path."""

    kind: ClassVar[str] = "artifact"
    noun: ClassVar[str] = "an artifact"
    """What it is, in an error message."""
    how: ClassVar[str] = ""
    """How to make one, in an error message (``{path}``: the path given instead, when it is of the kind
    :attr:`made_from`; else ``<dir>``)."""
    made_from: ClassVar[str | None] = None
    """The kind of artifact that :attr:`how` turns into this one."""
    markers: ClassVar[tuple[str, ...]] = ()
    """Files in the directory of which any marks it complete (none: the path's existence does)."""
    path: str
    """Where it lives: a local path or any fsspec URL."""

    def is_complete(self) -> bool:
        """Whether what the artifact names exists whole (not being written, not left by a failed job)."""
        if exists(posixpath.join(self.path, INCOMPLETE)):
            return False
        try:
            return bool(self._contents())
        except (ConfigError, OSError):
            return False

    def problem(self) -> str | None:
        """Why the artifact cannot be read, in one line (``None``: it is complete)."""
        if self.is_complete():
            return None
        if not exists(self.path):
            return f"{self.path} does not exist"
        if exists(posixpath.join(self.path, INCOMPLETE)):
            return f"{self.path} is incomplete: the last run there did not finish (see {self.path}/log.txt)"
        other = next((t(path=self.path) for t in ARTIFACT_TYPES.values()
                      if t is not type(self) and t(path=self.path).is_complete()), None)
        what = f"{self.path} is {other.what()}, not {self.noun}" if other else f"{self.path} does not hold {self.noun}"
        source = other is not None and other.kind == self.made_from
        return f"{what}: {self.how.format(path=self.path if source else '<dir>')}" if self.how else what

    def what(self) -> str:
        """What the complete artifact at :attr:`path` is, for a message about another kind being wanted."""
        return self.noun

    def files(self) -> list[str]:
        """The files whose content is what the artifact holds (what a rerun compares): the marker files present
        (of a dataset its document files, of token arrays their parts' metadata, which record the tokens' sha256)."""
        return [f for f in (posixpath.join(self.path, marker) for marker in self.markers) if exists(f)]

    def _contents(self) -> Any:
        return self.files() if self.markers else exists(self.path)

    def to_json(self) -> dict[str, Any]:
        """The artifact as JSON-able data that :func:`artifact_from_json` reads back."""
        return {"type": self.kind, **dataclasses.asdict(self)}

    def __str__(self) -> str:
        return self.path


@dataclass(frozen=True, kw_only=True)
class Dataset(Artifact):
    """Dolma documents (``documents/``, or JSON-lines/Parquet files, a directory or a glob of them), with the
    attributes taggers wrote beside them (``attributes/<tagger>/``), quarantined lines and step reports."""

    kind: ClassVar[str] = "dataset"
    noun: ClassVar[str] = "a dataset (documents/)"
    how: ClassVar[str] = "`olmo data fetch output=<dir>` makes one, or give JSON-lines/Parquet documents"

    def files(self) -> list[str]:
        from olmo_core.documents import document_files

        return document_files(self.path)

    def _contents(self) -> Any:
        return self.files()


@dataclass(frozen=True, kw_only=True)
class TokenArrays(Artifact):
    """A directory of token-array parts (``.npy`` memmaps with their metadata sidecars)."""

    kind: ClassVar[str] = "token_arrays"
    noun: ClassVar[str] = "token arrays"
    how: ClassVar[str] = "run `olmo data tokenize input={path} output=<dir>` first"
    made_from: ClassVar[str | None] = "dataset"
    tokenizer: str | None = None
    """The name of the tokenizer that made the tokens, when known."""
    unigram_entropy_nats: float | None = None
    """The entropy of the tokens' frequencies, when known: the loss of a model that knows only them, the
    baseline a trained model's loss is read against."""

    def files(self) -> list[str]:
        from olmo_core.token_arrays import part_urls, sibling

        return [sibling(url, ".meta.json") for url in part_urls(self.path)]

    def _contents(self) -> Any:
        return self.files()

    def problem(self) -> str | None:
        """As :meth:`Artifact.problem`; a part file of complete token arrays is named as such, with its folder."""
        problem = super().problem()
        folder = posixpath.dirname(self.path.rstrip("/"))
        if problem is not None and self.path.endswith(".npy") and folder and TokenArrays(path=folder).is_complete():
            return f"{self.path} is one part of the token arrays {folder}: give the folder ({folder})"
        return problem


@dataclass(frozen=True, kw_only=True)
class Checkpoint(Artifact):
    """A checkpoint step directory (model and optimizer state, tokenizer, config and a manifest of hashes)."""

    kind: ClassVar[str] = "checkpoint"
    noun: ClassVar[str] = "a checkpoint"
    how: ClassVar[str] = "`olmo train data=[<token arrays dir>] output=<dir>` writes one"
    markers: ClassVar[tuple[str, ...]] = (MANIFEST, "config.json")
    step: int | None = None
    """The optimizer step it was saved at, when known."""

    def is_complete(self) -> bool:
        """A run directory is complete when it holds a complete checkpoint, whatever its last run did."""
        return Artifact.is_complete(self._step())

    def files(self) -> list[str]:
        """The marker files of the checkpoint a run directory names (its newest complete step)."""
        return Artifact.files(self._step())

    def _step(self) -> Checkpoint:
        step = checkpoint_step_dir(self.path)
        return self if step == self.path else dataclasses.replace(self, path=step)

    def what(self) -> str:
        """A training run (a directory that holds checkpoints) or a checkpoint (one step)."""
        return "a training run" if checkpoint_step_dir(self.path) != self.path else self.noun


def transformers_model_type(path: str) -> str | None:
    """The ``model_type`` of the transformers ``config.json`` in ``path`` (None: there is none)."""
    import json

    from olmo_core.io import read_text

    try:
        config = json.loads(read_text(posixpath.join(path, "config.json")))
    except (OSError, ValueError):
        return None
    return config.get("model_type") if isinstance(config, dict) and isinstance(config.get("model_type"), str) \
        else None


def require_checkpoint(path: str, *, key: str = "checkpoint") -> str:
    """The checkpoint step directory that ``path`` names (see :func:`checkpoint_step_dir`); a path that holds
    none is refused in one line that starts with ``key`` and says what it is instead (as ``olmo eval`` does)."""
    problem = Checkpoint(path=path).problem()
    if problem is not None:
        raise ConfigError(f"{key}: {problem}")
    step = checkpoint_step_dir(path)
    model_type = None if exists(posixpath.join(step, MANIFEST)) else transformers_model_type(step)
    if model_type is not None:
        raise ConfigError(f"{key}: {path} is a transformers model (model_type {model_type}), not an olmo checkpoint: "
                          f"`olmo model import-hf checkpoint={path} output=<dir>` converts it")
    return step


def checkpoint_step_dir(path: str) -> str:
    """The checkpoint step directory ``path`` names: itself when it holds a manifest, else the newest complete
    step of a run directory (``<run>/checkpoints/stepN`` or ``<run>/stepN``), else ``path`` unchanged."""
    if exists(posixpath.join(path, MANIFEST)):
        return path
    newest = latest_checkpoint(posixpath.join(path, "checkpoints")) or latest_checkpoint(path)
    return str(newest) if newest is not None else path


@dataclass(frozen=True, kw_only=True)
class EvalResults(Artifact):
    """An evaluation's output directory: ``results.json``, per-example ``samples.jsonl``, ``results.md``."""

    kind: ClassVar[str] = "eval_results"
    noun: ClassVar[str] = "evaluation results"
    markers: ClassVar[tuple[str, ...]] = ("results.json",)


@dataclass(frozen=True, kw_only=True)
class JobRecord(Artifact):
    """A finished job's work directory: its ``result.json`` (outputs and metrics) and ``report.md``. Every
    pipeline stage leaves one, so that a job such as the run's report can read what the others did."""

    kind: ClassVar[str] = "job_record"
    noun: ClassVar[str] = "a job's record"
    markers: ClassVar[tuple[str, ...]] = ("result.json",)


ARTIFACT_TYPES: dict[str, type[Artifact]] = {t.kind: t for t in (Dataset, TokenArrays, Checkpoint, EvalResults,
                                                                  JobRecord)}
"""Every artifact type by its ``kind``."""


def artifact_from_json(data: dict[str, Any]) -> Artifact:
    """The artifact that :meth:`Artifact.to_json` wrote."""
    values = dict(data)
    kind = values.pop("type", None)
    if kind not in ARTIFACT_TYPES:
        raise ConfigError(f"unknown artifact type {kind!r} (known: {', '.join(ARTIFACT_TYPES)})")
    return ARTIFACT_TYPES[kind](**values)
