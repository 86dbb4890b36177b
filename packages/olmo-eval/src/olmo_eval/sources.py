"""What to evaluate: tasks by name (and task files), documents by path or the built-in held-out sets."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from olmo_core.documents import Document, document_files, read_documents
from olmo_core.errors import ConfigError
from olmo_core.plugins import get_host

from olmo_eval.perplexity.heldout import held_out_documents
from olmo_eval.tasks.base import Task
from olmo_eval.tasks.task_file import TaskFile, TaskFileConfig

__all__ = ["build_tasks", "read_eval_documents"]


def build_tasks(tasks: Mapping[str, Any] | Sequence[str], task_files: Sequence[str] = ()) -> list[Task]:
    """Tasks from registry names or composed configs, then one task per task file."""
    registry = get_host().registry("tasks")
    built = [registry.build(spec) for spec in (tasks.values() if isinstance(tasks, Mapping) else tasks)]
    built += [TaskFile(TaskFileConfig(path=path)) for path in task_files]
    if not built:
        raise ConfigError(f"no tasks to evaluate: choose some with tasks=[...] (available: "
                          f"{', '.join(registry.options())}) or task_files=[...]")
    names = [t.name for t in built]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ConfigError(f"tasks named twice: {', '.join(duplicated)}")
    return built


def read_eval_documents(input: str | None, *, domain_key: str = "subdomain", sets: Mapping[str, str | None],
                        max_documents: int | None = None) -> Iterator[tuple[Document, str]]:
    """``(document, domain)`` from Dolma files at ``input`` (domain: ``metadata[domain_key]``, else the
    source), or, without ``input``, from the built-in held-out ``sets``."""
    if input is None:
        yield from held_out_documents(sets, max_documents=max_documents)
        return
    counts: dict[str, int] = {}
    files = document_files(input)
    if not files:
        raise ConfigError(f"input={input}: no Dolma document files there")
    for file in files:
        for item in read_documents(file):
            if not isinstance(item, Document):
                raise ConfigError(f"{item.file} line {item.line}: {item.reason}")
            source = item.source or "documents"
            if max_documents is not None and counts.get(source, 0) >= max_documents:
                continue
            counts[source] = counts.get(source, 0) + 1
            item.source = source
            yield item, str(item.metadata.get(domain_key) or source)
