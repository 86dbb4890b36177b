"""The ``fetch`` job (``olmo data fetch``): fetch sources and write their Dolma documents into a dataset."""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from fsspec.core import url_to_fs

from olmo_core.artifacts import Dataset
from olmo_core.cache import url_sha256
from olmo_core.config import components, positive
from olmo_core.errors import ConfigError, did_you_mean
from olmo_core.io import exists, open_atomic, read_text, write_text
from olmo_core.jobs import Job, JobResult, Report, Slot, markdown_table
from olmo_core.plugins import get_host
from olmo_core.progress import Progress

from olmo_data.layout import Layout, amount, counted, counted_line
from olmo_data.sources.base import Source, known_count
from olmo_data.sources.user_files import UserSourceConfig

__all__ = ["DEFAULT_CORPUS", "FetchConfig", "FetchJob", "fetch"]

log = logging.getLogger(__name__)

DEFAULT_CORPUS: dict[str, int | None] = {
    "c4": None, "wikipedia": 3000, "wikipedia-fr": 300, "wikipedia-es": 300, "shakespeare": 20, "bible": 300,
    "spam-assassin": 1000, "sotu": 60, "moby-dick": None, "python-stdlib": 200,
}
"""Sources of the default corpus and how many documents of each (``None``: all): web, encyclopedic (with
French and Spanish for the language filter), books, mail (with real PII and spam), speeches and code."""


@dataclass(kw_only=True)
class FetchConfig:
    """Options of the ``fetch`` job (``olmo data fetch``)."""

    sources: Any = components("sources", default=list(DEFAULT_CORPUS),
                              help="the sources to fetch, in order: built-in ones, user ones (jsonl, parquet, "
                                   "text-folder with sources.text-folder.path=...) or all; "
                                   "sources.<name>.<option>=... sets a source's options")
    limits: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_CORPUS))
    """Most documents to take from each source, by name (``null`` or absent: all of it); a source's own
    ``sources.<name>.limit`` wins over its entry here."""
    documents_per_file: int = positive(100_000)
    """Documents per ``.jsonl.gz`` file."""
    force: bool = False
    """Write the documents again even when the output is already complete."""


def _report_path(output: str) -> str:
    return f"{output}/reports/fetch.json"


def _previous(output: str) -> dict[str, Any]:
    path = _report_path(output)
    return json.loads(read_text(path)).get("sources", {}) if exists(path) else {}


def _size(url: str) -> int | None:
    fs, path = url_to_fs(url)
    return int(fs.size(path)) if fs.exists(path) else None


def _complete(output: str, entry: dict[str, Any] | None, source: Source, fingerprint: dict[str, Any]) -> bool:
    """Whether ``entry`` (from the last report) describes this source's documents (made with ``fingerprint``),
    all still in place with their sha256."""
    if entry is None or not source.is_cached() or entry.get("fingerprint") != fingerprint:
        return False
    return all(exists(url := f"{output}/{relative}") and url_sha256(url) == sha256
               for relative, sha256 in entry["files"].items())


def _write(source: Source, output: str, per_file: int, fingerprint: dict[str, Any]) -> dict[str, Any]:
    folder = f"{output}/documents/{source.name}"
    start = time.perf_counter()
    source.fetch()
    files: dict[str, int] = {}
    documents = text_bytes = 0
    known = known_count(source) if source.pin is not None and source.limit is None else None
    with Progress(f"writing {source.name}", total=known["documents"] if known else None, unit="docs") as progress:
        batch: list[str] = []

        def flush() -> None:
            relative = f"documents/{source.name}/part-{len(files):05d}.jsonl.gz"
            with open_atomic(f"{output}/{relative}", "wt", compression="infer", encoding="utf-8") as f:
                f.writelines(batch)
            files[relative] = 0
            batch.clear()

        for document in source.documents():
            batch.append(json.dumps(document.to_json(), ensure_ascii=False) + "\n")
            documents += 1
            text_bytes += len(document.text.encode("utf-8"))
            progress.advance()
            if len(batch) >= per_file:
                flush()
        if batch or not files:
            flush()
    fs, root = url_to_fs(folder)
    written = {relative.rsplit("/", 1)[-1] for relative in files}
    for stale in fs.glob(f"{root}/*"):
        if stale.rsplit("/", 1)[-1] not in written:
            fs.rm(stale)
    layout = Layout([], output, f"{output}/documents")
    quarantine_fs, quarantine = url_to_fs(layout.quarantine(f"{folder}.jsonl"))
    if quarantine_fs.exists(quarantine):  # from an earlier run
        quarantine_fs.rm(quarantine)
    reasons = layout.keep_quarantined(f"{folder}.jsonl", source.quarantined)
    return {"name": source.name, "pin": source.pin, "from": source.pin or getattr(source.config, "path", None),
            "license": source.license, "fingerprint": fingerprint,
            **counted(documents + source.dropped.total() + reasons.total(), written=documents,
                      dropped=source.dropped.total(), quarantined=reasons.total()),
            "dropped_reasons": dict(source.dropped), "quarantine_reasons": dict(reasons),
            "documents": documents, "text_bytes": text_bytes, "bytes": sum(_size(f"{output}/{r}") or 0 for r in files),
            "files": {relative: url_sha256(f"{output}/{relative}") for relative in files},
            "seconds": round(time.perf_counter() - start, 2)}


def _check_limits(config: FetchConfig) -> None:
    """Refuse a ``limits`` key that names neither a selected source nor a registered one: a typo (``c44``) that
    would otherwise be ignored, every document of the source it meant written. A registered source that is not
    selected keeps its limit unused (the default corpus and presets give limits for sources a run may leave out)."""
    known = set(config.sources) | set(get_host().registry("sources").options())
    for key, limit in config.limits.items():
        if key not in known:
            raise ConfigError(f"limits key '{key}' names no selected source (sources: {', '.join(config.sources)})"
                              f"{did_you_mean(key, config.sources)}")
        if limit is not None and (type(limit) is not int or limit < 1):
            raise ConfigError(f"limits.{key}={limit!r} is out of range: give a number of documents of at least 1, or "
                              f"null for all of them")


def _check_sources(config: FetchConfig) -> list[Source]:
    """The configured sources, once they are known to be fetchable: some sources, limits that name them, plain
    names, and users' files that exist (their paths match files); else a :class:`ConfigError` saying why."""
    if not config.sources:
        options = ", ".join(get_host().registry("sources").options())
        raise ConfigError(f"`olmo data fetch` needs sources=[name,...] (available: {options})")
    _check_limits(config)
    chosen = _chosen(config)  # a source's name is checked as it is built
    for source in chosen:
        if isinstance(getattr(source, "config", None), UserSourceConfig):
            source.files()  # type: ignore[attr-defined]  # refuses a path that matches no files
    return chosen


def _chosen(config: FetchConfig) -> list[Source]:
    """The configured sources, each with its limit (``all`` stands for its parts)."""
    registry = get_host().registry("sources")
    chosen: list[Source] = []
    for name, spec in config.sources.items():
        if hasattr(spec, "limit") and spec.limit is None:
            spec = dataclasses.replace(spec, limit=config.limits.get(name))
        source = registry.build(spec)
        chosen += getattr(source, "parts", None) or [source]
    return chosen


def fetch(config: FetchConfig, output: str) -> dict[str, Any]:
    """Fetch the configured sources' data (downloaded once, verified, cached) and write their documents as
    Dolma JSON lines (``.jsonl.gz``) under ``<output>/documents/<source>/``, with a report in
    ``<output>/reports/fetch.json``; return each source's entry of it (``{"sources": ...}``).

    A source whose output is complete (same pin, options and files) and whose archive is cached is left as it
    is; ``force=true`` writes it again.
    """
    chosen = _check_sources(config)
    output = output.rstrip("/")
    entries = _previous(output)
    fetched = {}
    for source in chosen:
        fingerprint = source.fingerprint()  # user files: a sha256 of each input, taken once
        if not config.force and _complete(output, entries.get(source.name), source, fingerprint):
            entry = entries[source.name]
            log.info(f"{source.name}: already complete in {output}/documents/{source.name} "
                     f"({amount(entry['documents'], 'document')}) and its data is cached; nothing to do (force=true "
                     f"writes it again)")
            fetched[source.name] = {**entry, "skipped": True}
            continue
        entries[source.name] = _write(source, output, config.documents_per_file, fingerprint)
        fetched[source.name] = entries[source.name]
        entry = entries[source.name]
        log.info(f"{source.name}: wrote {amount(entry['documents'], 'document')} "
                 f"({amount(entry['text_bytes'], 'byte')} of text, {amount(entry['bytes'], 'byte')} in "
                 f"{amount(len(entry['files']), 'file')}) to {output}/documents/{source.name}; "
                 f"{counted_line(entry)}" + (f"; dropped {entry['dropped_reasons']}" if entry["dropped"] else "")
                 + (f"; quarantined {entry['quarantine_reasons']} in {output}/quarantine/{source.name}.jsonl"
                    if entry["quarantined"] else ""))
    if any(not entry.get("skipped") for entry in fetched.values()):
        write_text(_report_path(output), json.dumps({"command": "data fetch", "sources": entries}, indent=2) + "\n")
        log.info(f"report: {_report_path(output)}")
    return {"sources": fetched}


class FetchJob(Job):
    """Fetch sources (downloaded once, verified, cached) into a new dataset of Dolma documents.

    ``olmo data fetch sources=[c4,wikipedia] 'limits={wikipedia: 500}' output=<dir>``; the dataset is the work
    directory."""

    command = "data fetch"
    outputs: ClassVar[dict[str, Slot]] = {"dataset": Slot(Dataset, help="the fetched documents")}

    def check(self, config: FetchConfig, inputs: Mapping[str, Any], workdir: str) -> None:
        """Refuse what cannot be fetched (no sources, a ``limits`` key that names no source, a source name that
        would leave the output, users' files that do not exist) before the work directory is made."""
        _check_sources(config)

    def run(self, config: FetchConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        """Fetch every configured source into ``workdir``; metrics: each source's entry of the fetch report
        (``sources``), ``documents_per_source`` and ``total_documents``."""
        fetched = fetch(config, workdir)["sources"]
        documents = {name: entry["documents"] for name, entry in fetched.items()}
        return JobResult(outputs={"dataset": Dataset(path=workdir)},
                         metrics={"command": "data fetch", "sources": fetched, "documents_per_source": documents,
                                  "total_documents": sum(documents.values())})

    def report(self, result: JobResult) -> Report:
        """The ``## Data`` table: documents written, dropped and quarantined, text, licence and origin of every
        source."""
        rows = [(name, f"{entry['documents']:,}", f"{entry.get('dropped', 0):,}", f"{entry.get('quarantined', 0):,}",
                 amount(entry['text_bytes'], 'byte'), entry["license"], entry.get("from") or "this machine")
                for name, entry in result.metrics["sources"].items()]
        table = markdown_table(["source", "documents", "dropped", "quarantined", "text", "licence", "from"], rows)
        return Report(markdown="\n".join(["## Data", "", *table]))
