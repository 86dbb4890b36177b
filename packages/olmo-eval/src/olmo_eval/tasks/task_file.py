"""Declarative tasks: a JSON-lines file of documents, scored like any built-in task, without Python.

Each line is one document::

    {"context": "Question: What is the boiling point of water at sea level?\\nAnswer:",
     "choices": ["100 degrees Celsius", "50 degrees Celsius"], "gold": 0}

``context`` is a string, or a list with one context per choice (WinoGrande-style partial scoring, where
the choices share one continuation); ``choices`` are the answer texts, each scored as
``target_delimiter + choice``; ``gold`` is the index of the correct one; ``id`` is optional. A line that
breaks these rules fails with the file and the line number.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_core.config import REQUIRED
from olmo_core.errors import ConfigError
from olmo_core.io import open_file

from olmo_eval.tasks.base import Instance, Task, TaskConfig

__all__ = ["TaskFile", "TaskFileConfig", "TaskFileError"]


class TaskFileError(ConfigError):
    """A task file line is not a valid document."""


@dataclass(kw_only=True)
class TaskFileConfig(TaskConfig):
    """Options of a task defined by a JSON-lines file."""

    path: str = REQUIRED
    """The JSON-lines file (any fsspec path; ``.gz`` is decompressed)."""
    name: str | None = None
    """The task's name in results (default: the file name without its suffixes)."""
    target_delimiter: str = " "
    """Put before every choice to make its continuation (OLMo's and lm-evaluation-harness's leading space)."""


def _document(record: Any, doc_id: int, delimiter: str) -> Instance:
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    missing = [key for key in ("context", "choices", "gold") if key not in record]
    if missing:
        raise ValueError(f"missing {', '.join(repr(k) for k in missing)}")
    choices, gold, context = record["choices"], record["gold"], record["context"]
    if not isinstance(choices, list) or len(choices) < 2 or not all(isinstance(c, str) for c in choices):
        raise ValueError("'choices' must be a list of at least two strings")
    if isinstance(gold, bool) or not isinstance(gold, int) or not 0 <= gold < len(choices):
        raise ValueError(f"'gold' must be the index of a choice (0 to {len(choices) - 1}), not {gold!r}")
    if isinstance(context, str):
        contexts = (context,) * len(choices)
    elif isinstance(context, list) and len(context) == len(choices) and all(isinstance(c, str) for c in context):
        contexts = tuple(context)
    else:
        raise ValueError("'context' must be a string or a list of one string per choice")
    native = record.get("id", "")
    return Instance(doc_id=doc_id, contexts=contexts, continuations=tuple(delimiter + c for c in choices), gold=gold,
                    native_id=str(native))


class TaskFile(Task):
    """A task read from a JSON-lines file of contexts, choices and gold indices."""

    def __init__(self, config: TaskFileConfig) -> None:
        if config.path in (None, REQUIRED):
            raise ConfigError("a task file needs path=<file.jsonl>")
        self.name = config.name or Path(config.path).name.split(".")[0]
        self.description = f"task file {config.path}"
        super().__init__(config)
        self.path = config.path

    def load(self) -> list[Instance]:
        instances: list[Instance] = []
        try:
            with open_file(self.path, "rt", encoding="utf-8", compression="infer") as f:
                for number, line in enumerate(f, start=1):
                    if not line.strip():
                        continue
                    try:
                        instances.append(_document(json.loads(line), len(instances), self.config.target_delimiter))
                    except (ValueError, ConfigError) as exc:
                        raise TaskFileError(f"{self.path} line {number}: {exc}") from None
        except FileNotFoundError:
            raise TaskFileError(f"no task file at {self.path}") from None
        if not instances:
            raise TaskFileError(f"{self.path} holds no documents")
        return instances
