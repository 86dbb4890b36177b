"""Decontamination: a paragraph Bloom filter built from evaluation text, as Dolma decontaminates.

Evaluation text comes from Dolma documents (any path) and from evaluation tasks registered through
``olmo_register_tasks`` that offer their text: a task object with a ``texts()`` method yielding strings
(contexts, choices, passages). Paragraphs are hashed exactly as the ``bloom`` deduper hashes them, so the
filter is checked by that deduper in read-only mode.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from olmo_core.documents import Document, document_files, read_documents
from olmo_core.errors import ConfigError
from olmo_core.plugins import get_host

from olmo_data.dedup.bloomfilter import ParagraphFilter
from olmo_data.dedup.text import hash128, normalize, paragraphs

__all__ = ["evaluation_filter", "evaluation_texts"]


def evaluation_texts(paths: Sequence[str], tasks: Sequence[str]) -> Iterator[tuple[str, str]]:
    """``(origin, text)`` for every evaluation document and every text of every named task."""
    for path in paths:
        for file in document_files(path):
            for item in read_documents(file):
                if isinstance(item, Document):
                    yield file, item.text
    registry = get_host().registry("tasks")
    for name in tasks:
        task = registry.build(name)
        texts = getattr(task, "texts", None)
        if texts is None:
            raise ConfigError(f"task '{name}' offers no texts() to decontaminate against")
        for text in texts():
            yield f"task:{name}", text


def evaluation_filter(paths: Sequence[str], tasks: Sequence[str], *, settings: dict[str, Any],
                      false_positive_rate: float = 1e-6) -> tuple[ParagraphFilter, dict[str, int]]:
    """A filter holding every evaluation paragraph (as the ``bloom`` deduper with ``settings`` hashes them),
    and how many paragraphs each origin gave."""
    hashes: set[int] = set()
    per_origin: dict[str, int] = {}
    for origin, text in evaluation_texts(paths, tasks):
        for start, end in paragraphs(text):
            line = normalize(text[start:end].removesuffix("\n"), settings["normalize"])
            if line.strip() and len(line) >= settings["min_chars"]:
                hashes.add(hash128(line))
                per_origin[origin] = per_origin.get(origin, 0) + 1
    if not hashes:
        raise ConfigError("no evaluation paragraphs to decontaminate against: give eval=[paths] or tasks=[...]")
    bloom = ParagraphFilter(max(len(hashes), 1000), false_positive_rate, settings)
    for item in sorted(hashes):
        bloom.add(item)
    return bloom, per_origin
