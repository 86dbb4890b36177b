"""``olmo data dedup``: run dedupers over a dataset and write their Dolma attribute files and reports."""

from __future__ import annotations

import functools
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from olmo_core.config import NAME_KEY, REQUIRED, components, to_dict
from olmo_core.documents import Quarantined, read_documents
from olmo_core.errors import ConfigError, OlmoError, PluginError
from olmo_core.io import open_atomic, write_text
from olmo_core.plugins import get_host
from olmo_core.progress import Progress

from olmo_data.dedup.base import DedupContext, Deduper, DocumentRef, Marks
from olmo_data.layout import Layout, find_layout
from olmo_data.parallel import map_shards
from olmo_data.taggers.base import attribute_key

__all__ = ["DedupConfig", "dedup_command"]

_BASE_COUNTS = ("documents", "characters", "duplicate_documents", "duplicate_characters")


@dataclass(kw_only=True)
class DedupConfig:
    """Options of ``olmo data dedup``."""

    input: str = REQUIRED
    """A dataset directory (with ``documents/``), a directory or glob of JSON-lines files, or one file."""
    output: str | None = None
    """Dataset directory that receives ``attributes/``, ``reports/`` and ``dedup/`` (default: the input's)."""
    dedupers: Any = components("dedupers", help="the dedupers to run, each writing its own attributes")
    workers: int = 1
    """Processes computing per-file hashes and signatures (0: one per CPU core). Decisions are taken in one
    process in corpus order, so the output does not depend on it."""


@dataclass
class FileFeatures:
    """One file's documents and what each deduper computed for them."""

    records: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    documents: list[DocumentRef] = field(default_factory=list)
    features: dict[str, list[Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))


def _file_features(file: str, *, layout: Layout, dedupers: dict[str, Any]) -> FileFeatures:
    registry = get_host().registry("dedupers")
    built = {name: registry.build(config) for name, config in dedupers.items()}
    result = FileFeatures(features={name: [] for name in built})
    quarantined: list[Quarantined] = []
    for item in read_documents(file):
        result.records += 1
        if isinstance(item, Quarantined):
            quarantined.append(item)
            result.quarantined[item.reason.split(" (")[0]] += 1
            continue
        result.documents.append(DocumentRef(item.id, item.source or "(none)", len(item.text), file))
        for name, deduper in built.items():
            start = time.perf_counter()
            try:
                result.features[name].append(deduper.features(item))
            except OlmoError:
                raise
            except Exception as exc:
                raise PluginError(f"deduper '{name}' failed on document '{item.id}' of {file}: "
                                  f"{type(exc).__name__}: {exc}") from exc
            result.seconds[name] += time.perf_counter() - start
    if quarantined:
        write_text(layout.quarantine(file), "".join(json.dumps(q.to_json()) + "\n" for q in quarantined))
    return result


@dataclass
class _Tally:
    """What one deduper marked, per source."""

    per_source: dict[str, Counter[str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, document: DocumentRef, marks: Marks) -> None:
        counts = self.per_source.setdefault(document.source, Counter())
        counts.update({"documents": 1, "characters": document.length,
                       "duplicate_documents": int(marks.duplicate), "duplicate_characters": marks.characters})
        counts.update(marks.counts)

    def total(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.per_source.values():
            total.update(counts)
        return total


def _decide(name: str, deduper: Deduper, file: str, found: FileFeatures, layout: Layout, tally: _Tally) -> None:
    start = time.perf_counter()
    rows = []
    for document, features in zip(found.documents, found.features[name], strict=True):
        marks = deduper.mark(document, features)
        tally.add(document, marks)
        attributes = {attribute_key(name, name, key): value for key, value in marks.attributes.items()}
        rows.append(json.dumps({"id": document.id, "source": document.source, "attributes": attributes},
                               ensure_ascii=False) + "\n")
    tally.seconds["decisions"] += time.perf_counter() - start
    with open_atomic(layout.attributes(name, file), "wt", compression="infer", encoding="utf-8") as f:
        f.write("".join(rows))


def dedup_command(config: DedupConfig) -> dict[str, Any]:
    """Deduplicate a dataset: mark repeated documents and paragraphs as Dolma attributes, per deduper.

    Per-file work (hashes, signatures) runs in ``workers`` processes; the keep/duplicate decisions run in
    this process in corpus order (files sorted, then lines), so the first occurrence is kept and the output
    is the same for any number of workers. Each deduper writes ``attributes/<name>/<file>`` (one row per
    valid document) and ``reports/dedup-<name>.json`` (what it marked per source); invalid lines are
    quarantined. Drop or mask with ``olmo data filter exclude=['<name>__<name>__duplicate == 1']``.
    """
    if not config.dedupers:
        options = ", ".join(get_host().registry("dedupers").options()) or "none installed"
        raise ConfigError(f"`olmo data dedup` needs dedupers: dedupers=[name,...] (available: {options})")
    layout = find_layout(config.input, config.output)
    registry = get_host().registry("dedupers")
    built = {name: registry.build(spec) for name, spec in config.dedupers.items()}
    for name, deduper in built.items():
        deduper.begin(DedupContext(layout.root, name))
    tallies = {name: _Tally() for name in built}
    records, quarantined = 0, Counter[str]()
    started = time.perf_counter()
    work = functools.partial(_file_features, layout=layout, dedupers=dict(config.dedupers))
    with Progress("deduplicating", total=len(layout.files), unit="files") as progress:
        for file, found in zip(layout.files, map_shards(work, layout.files, workers=config.workers), strict=True):
            records += found.records
            quarantined.update(found.quarantined)
            for name, deduper in built.items():
                tallies[name].seconds["features"] += found.seconds[name]
                _decide(name, deduper, file, found, layout, tallies[name])
            progress.advance(postfix=f"{records} records")
    reports = {}
    for name, deduper in built.items():
        extra = deduper.end()
        reports[name] = _report(name, config.dedupers[name], layout, tallies[name], extra)
        reports[name].update({"records": records, "quarantined": sum(quarantined.values()),
                              "quarantine_reasons": dict(quarantined)})
        write_text(layout.report(f"dedup-{name}"), json.dumps(reports[name], indent=2) + "\n")
    _print_summary(reports, layout, time.perf_counter() - started)
    return reports


def _report(name: str, spec: Any, layout: Layout, tally: _Tally, extra: dict[str, Any]) -> dict[str, Any]:
    total = tally.total()
    seconds = tally.seconds["features"] + tally.seconds["decisions"]
    settings = {k: v for k, v in to_dict(spec).items() if k != NAME_KEY}
    return {
        "command": "data dedup", "deduper": name, "config": settings, "files": len(layout.files),
        "documents": total["documents"], "characters": total["characters"],
        "duplicate_documents": total["duplicate_documents"], "duplicate_characters": total["duplicate_characters"],
        "counts": {k: v for k, v in sorted(total.items()) if k not in _BASE_COUNTS},
        "per_source": {source: dict(sorted(counts.items())) for source, counts in sorted(tally.per_source.items())},
        "details": extra, "attributes": f"{layout.root}/attributes/{name}",
        "seconds": {k: round(v, 3) for k, v in sorted(tally.seconds.items())},
        "docs_per_second": round(total["documents"] / seconds, 1) if seconds else None,
    }


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "0%"


def _print_summary(reports: dict[str, dict[str, Any]], layout: Layout, seconds: float) -> None:
    for name, report in reports.items():
        docs, chars = report["documents"], report["characters"]
        print(f"{name}: marked {report['duplicate_documents']:,} of {docs:,} documents "
              f"({_share(report['duplicate_documents'], docs)}) and {report['duplicate_characters']:,} of "
              f"{chars:,} characters ({_share(report['duplicate_characters'], chars)}); "
              f"{report['docs_per_second'] or 0:,.0f} documents/s")
        for source, counts in report["per_source"].items():
            print(f"  {source}: {counts['duplicate_documents']:,} of {counts['documents']:,} documents, "
                  f"{counts['duplicate_characters']:,} of {counts['characters']:,} characters")
        details = report["details"]
        if "bits" in details:
            print(f"  filter: {details['filter']} ({details['bytes']:,} bytes, {details['hashes']} hashes, "
                  f"{details['items']:,} paragraphs for {details['expected_items']:,} expected; false-positive "
                  f"rate now {details['false_positive_rate_now']:.2g})")
    quarantined = next(iter(reports.values()))["quarantined"]
    print(f"deduplicated {next(iter(reports.values()))['records']:,} records from {len(layout.files)} files in "
          f"{seconds:.1f}s; quarantined {quarantined}")
    print(f"attributes: {layout.root}/attributes/  reports: {layout.root}/reports/dedup-*.json")
