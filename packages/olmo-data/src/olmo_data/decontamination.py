"""Decontamination: a paragraph Bloom filter built from evaluation text, as Dolma decontaminates.

Evaluation text comes from Dolma documents (any path) and from evaluation tasks registered through
``olmo_register_tasks`` that offer their text: a task object with a ``texts()`` method yielding strings
(contexts, choices, passages). Paragraphs are hashed exactly as the ``bloom`` deduper hashes them, so the
filter is checked by that deduper in read-only mode.

:func:`saved_evaluation_filter` keeps the filter in a file beside a description of what it holds, so that the
jobs of a sweep over shards build it once and share it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from olmo_core.config import to_dict
from olmo_core.documents import Document, document_files, read_documents
from olmo_core.errors import ConfigError
from olmo_core.io import exists, read_text, write_text
from olmo_core.plugins import get_host

from olmo_data.dedup.bloomfilter import DIGEST_BYTES, ParagraphFilter, as_digests
from olmo_data.dedup.text import checked_paragraphs

__all__ = ["evaluation_filter", "evaluation_texts", "saved_evaluation_filter"]


def evaluation_texts(paths: Sequence[str], tasks: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """``(origin, text)`` for every evaluation document and every text of every task (name to its config, or
    to ``None`` for its default). An unreadable evaluation record is refused (a :class:`ConfigError` naming its file
    and line): decontaminating against part of the evaluation data would miss what the rest holds."""
    for path in paths:
        for file in document_files(path, key="eval"):
            for item in read_documents(file):
                if not isinstance(item, Document):
                    raise ConfigError(f"eval={path}: {item.file} line {item.line} is unreadable ({item.reason}): "
                                      f"repair or remove it (decontaminating against the rest would miss what it "
                                      f"holds)")
                yield file, item.text
    registry = get_host().registry("tasks")
    for name, spec in tasks.items():
        task = registry.build(name if spec is None else spec)
        texts = getattr(task, "texts", None)
        if texts is None:
            raise ConfigError(f"task '{name}' offers no texts() to decontaminate against")
        for text in texts():
            yield f"task:{name}", text


def evaluation_filter(paths: Sequence[str], tasks: Mapping[str, Any], *, settings: dict[str, Any],
                      false_positive_rate: float = 1e-6) -> tuple[ParagraphFilter, dict[str, int]]:
    """A filter holding every evaluation paragraph (as the ``bloom`` deduper with ``settings`` hashes them),
    and how many paragraphs each origin gave."""
    digests: set[bytes] = set()
    per_origin: dict[str, int] = {}
    texts = 0
    for origin, text in evaluation_texts(paths, tasks):
        texts += 1
        _, joined = checked_paragraphs(text, settings["normalize"], settings["min_chars"])
        if joined:
            digests.update(joined[i:i + DIGEST_BYTES] for i in range(0, len(joined), DIGEST_BYTES))
            per_origin[origin] = per_origin.get(origin, 0) + len(joined) // DIGEST_BYTES
    if not digests and texts:
        raise ConfigError(f"no evaluation paragraphs to decontaminate against: every paragraph of the {texts:,} "
                          f"evaluation texts is shorter than min_chars={settings['min_chars']}")
    if not digests:
        raise ConfigError("no evaluation paragraphs to decontaminate against: give eval=[paths] or tasks=[...]")
    bloom = ParagraphFilter(max(len(digests), 1000), false_positive_rate, settings)
    bloom.add(as_digests(b"".join(sorted(digests))))
    return bloom, per_origin


def saved_evaluation_filter(path: str, paths: Sequence[str], tasks: Mapping[str, Any], *, settings: dict[str, Any],
                            rebuild: bool) -> dict[str, int]:
    """Save the :func:`evaluation_filter` of ``paths`` and ``tasks`` to ``path``, and ``<path>.json`` describing
    it, unless (without ``rebuild``) a filter of the same evaluation data and settings is already there.

    Returns the paragraphs per origin. Both files are written atomically, the description last, and the same
    evaluation data always gives the same bytes: jobs that build the filter at the same time write the same
    file, and a job that finds the description finds the whole filter.
    """
    spec = {"eval": list(paths), "tasks": to_dict(dict(tasks)), "settings": settings}
    description = f"{path}.json"
    if not rebuild and exists(description) and exists(path):
        saved = json.loads(read_text(description))
        if saved["spec"] == spec:
            paragraphs_per_origin: dict[str, int] = saved["paragraphs"]
            return paragraphs_per_origin
    bloom, per_origin = evaluation_filter(paths, tasks, settings=settings)
    bloom.save(path)
    write_text(description, json.dumps({"spec": spec, "paragraphs": per_origin}, indent=2) + "\n")
    return per_origin
