"""Real documents from the built-in sources, written as a dataset, and the analysis commands registered."""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from olmo_core.documents import Document
from olmo_core.plugins import PluginHost

from olmo_data.sources import builtin_sources

LIMITS = {"c4": 40, "moby-dick": 20, "wikipedia-fr": 30, "spam-assassin": 40}
"""The sources of the test corpus and how many documents of each."""


@pytest.fixture
def analysis(olmo_host: PluginHost) -> None:
    """The test's host, with ``olmo data stats`` and ``olmo data count`` of the installed olmo-data."""


@functools.cache
def documents_of(name: str, limit: int | None = None) -> tuple[Document, ...]:
    """The first ``limit`` documents of a built-in source (read once per session)."""
    return tuple(next(s for s in builtin_sources(limit) if s.name == name).documents())


def write_documents(path: Path, documents: Sequence[Document]) -> None:
    """Write Dolma JSON lines, gzipped when the name says so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = "".join(json.dumps(d.to_json(), ensure_ascii=False) + "\n" for d in documents)
    if path.suffix == ".gz":
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(lines)
    else:
        path.write_text(lines, encoding="utf-8")


def planted_duplicate() -> Document:
    """A copy of the third C4 document under another id."""
    original = documents_of("c4", LIMITS["c4"])[2]
    return Document(id="c4-copy-of-2", text=original.text, source="c4")


def corpus_files() -> dict[str, list[Document]]:
    """The test corpus: file (relative to ``documents/``) to its documents; C4 spans two files, the second
    ending with a planted duplicate of a document of the first."""
    c4 = list(documents_of("c4", LIMITS["c4"]))
    return {
        "c4/part-0.jsonl.gz": c4[:25],
        "c4/part-1.jsonl": [*c4[25:], planted_duplicate()],
        "moby-dick/part-0.jsonl.gz": list(documents_of("moby-dick", LIMITS["moby-dick"])),
        "spam-assassin/part-0.jsonl.gz": list(documents_of("spam-assassin", LIMITS["spam-assassin"])),
        "wikipedia-fr/part-0.jsonl.gz": list(documents_of("wikipedia-fr", LIMITS["wikipedia-fr"])),
    }


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A dataset directory holding :func:`corpus_files`."""
    root = tmp_path / "corpus"
    for relative, documents in corpus_files().items():
        write_documents(root / "documents" / relative, documents)
    return root


def by_source() -> dict[str, list[Document]]:
    """The corpus's documents per source, in file order."""
    found: dict[str, list[Document]] = {}
    for documents in corpus_files().values():
        for document in documents:
            found.setdefault(document.source, []).append(document)
    return found
