"""Real documents with planted duplicates, dataset writing, and the dedup plugin registered for each test."""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from olmo_core.documents import Document
from olmo_core.plugins import PluginHost, get_host
from olmo_core.testing import OlmoResult


@pytest.fixture
def dedup_plugin(olmo_host: PluginHost) -> None:
    """The test's host, with the dedupers and ``olmo data dedup`` of the installed olmo-data."""


@pytest.fixture
def run_dedup(dedup_plugin: None, olmo_cli: Any) -> Callable[..., OlmoResult]:
    """``run_dedup(dataset, "dedupers=[exact]", ...)``: ``olmo data dedup`` that must succeed."""

    def run(dataset: Path, *overrides: str) -> OlmoResult:
        result = olmo_cli("data", "dedup", f"input={dataset}", *overrides)
        assert result.exit_code == 0, result.err
        return result

    return run


@functools.cache
def source_documents(name: str, limit: int | None = None, **options: Any) -> tuple[Document, ...]:
    """Documents of a built-in source with ``options`` (read once per session and limit)."""
    spec = {"_name_": name, "limit": limit, "held_out": "include", **options}
    return tuple(get_host().registry("sources").build(spec).documents())


def copy(document: Document, id: str, text: str | None = None, **metadata: Any) -> Document:
    """A planted copy of ``document`` with a new id, optionally new text, and the given metadata only."""
    return Document(id=id, text=document.text if text is None else text, source="planted", metadata=metadata)


def write_dataset(root: Path, files: dict[str, Iterable[Document]]) -> Path:
    """A dataset directory with ``documents/<name>.jsonl.gz`` for each entry of ``files``."""
    for name, documents in files.items():
        target = root / "documents" / f"{name}.jsonl.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(target, "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(d.to_json(), ensure_ascii=False) + "\n" for d in documents)
    return root


def attribute_rows(root: Path, name: str, pattern: str = "*.jsonl.gz") -> dict[str, dict[str, Any]]:
    """The attribute rows of deduper ``name`` (in files matching ``pattern``), by document id, in order."""
    rows = {}
    for path in sorted((root / "attributes" / name).rglob(pattern)):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                rows[row["id"]] = row["attributes"]
    return rows


def marked(rows: dict[str, dict[str, Any]], key: str) -> dict[str, Any]:
    """Ids whose document-level ``key`` is 1, with their ``duplicate_of`` (when the deduper gives one)."""
    name = key.split("__")[0]
    found = {}
    for doc_id, attributes in rows.items():
        if attributes[key][0][2] == 1:
            of = attributes.get(f"{name}__{name}__duplicate_of") or [[0, 0, None]]
            found[doc_id] = of[0][2]
    return found


@functools.cache
def planted_corpus() -> tuple[dict[str, list[Document]], dict[str, Document]]:
    """300 Wikipedia leads and 100 C4 pages, then five planted duplicates of some of them in a later file.

    Returns the files (``a-wikipedia``, ``b-c4``, ``c-planted``) and, for each planted id, the original it
    copies: ``planted-copy`` (the same text, no URL), ``planted-edited`` (three words changed),
    ``planted-appended`` (a C4 page with a paragraph of another page appended), ``planted-recrawl`` (the
    same URL, the title line changed) and ``planted-spaced`` (a C4 page with doubled spaces and trailing
    blanks).
    """
    wikipedia = source_documents("wikipedia")[:300]
    c4 = source_documents("c4")
    pages = list(c4[:100])
    leads = [d for d in wikipedia if len(d.text.split()) >= 150]
    multi = [d for d in pages if 4 <= d.text.count("\n") <= 12 and len(d.text.split()) >= 200]
    edited_words = leads[1].text.split(" ")
    for position in (40, 80, 120):
        edited_words[position] = "zeppelin"
    extra = next(p for p in c4[100:] if 20 <= len(p.text.split("\n")[0].split()) <= 40)
    title, _, body = leads[2].text.partition("\n")
    planted = [
        copy(leads[0], "planted-copy"),
        copy(leads[1], "planted-edited", " ".join(edited_words)),
        copy(multi[0], "planted-appended", multi[0].text + "\n" + extra.text.split("\n")[0]),
        copy(leads[2], "planted-recrawl", f"{title} (revised)\n{body}", url=leads[2].metadata["url"]),
        copy(multi[1], "planted-spaced", multi[1].text.replace(". ", ".  ").replace("\n", "  \n")),
    ]
    originals = dict(zip([d.id for d in planted], [leads[0], leads[1], multi[0], leads[2], multi[1]], strict=True))
    return {"a-wikipedia": list(wikipedia), "b-c4": pages, "c-planted": planted}, originals
