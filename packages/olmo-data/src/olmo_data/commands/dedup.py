"""The ``dedup`` job (``olmo data dedup``): run dedupers over a dataset and write their Dolma attribute files
and reports; in a pipeline, also the dataset without the duplicates."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from olmo_core.artifacts import Dataset
from olmo_core.cache import key_of
from olmo_core.config import NAME_KEY, components, non_negative, positive, to_dict
from olmo_core.documents import require_documents
from olmo_core.errors import ConfigError
from olmo_core.io import exists, open_atomic, remove_temporaries, write_text
from olmo_core.jobs import Job, JobResult, Report, Slot
from olmo_core.plugins import get_host
from olmo_core.progress import Progress

from olmo_data.commands.filter import FilterConfig, filter_documents, kept_per_source
from olmo_data.dedup.base import DedupContext, Deduper, DocumentRef, FileMarks, json_string
from olmo_data.dedup.buckets import FileBuckets, buckets_path, read_partition
from olmo_data.dedup.features import (FileFeatures, assembled, features_by_file, features_path, load_features,
                                      part_features, save_features, saved_header, saved_items)
from olmo_data.dedup.partition import BucketIndex, parse_partition, partial_path, peak_rss_bytes, read_groups
from olmo_data.dedup.text import check_choice
from olmo_data.layout import (DOCUMENTS_HELP, Layout, amount, counted, counted_line, in_place_workdir, layout_beside,
                              report_name, reporting, select_shard)
from olmo_data.parallel import PART_BYTES, Part, map_parts, map_shards
from olmo_data.taggers.base import attribute_key

__all__ = ["DedupConfig", "DedupJob", "dedup_documents"]

log = logging.getLogger(__name__)

_BASE_COUNTS = ("documents", "characters", "duplicate_documents", "duplicate_characters")
PHASES = ("all", "features", "decide", "resolve")


@dataclass(kw_only=True)
class DedupConfig:
    """Options of the ``dedup`` job (``olmo data dedup``)."""

    dedupers: Any = components("dedupers", help="the dedupers to run, each writing its own attributes")
    workers: int = non_negative(1)
    """Processes computing per-file hashes and signatures (0: one per CPU core). Decisions are taken in one
    process in corpus order, so the output does not depend on it."""
    part_bytes: int = positive(PART_BYTES)
    """Files with more content than this (32 MiB) have their features computed in parts of this size, in
    parallel; the output does not depend on it."""
    shard: str | None = None
    """Handle only shard ``i/N`` of the input files (every N-th from the i-th): save their features
    (``phase=features``) for one ``phase=decide`` job to decide over all shards."""
    phase: str | None = None
    """``all``: features and decisions in one job (the default without ``shard``); ``features``: compute the
    features and save them under ``dedup/features/<name>/`` (the default with ``shard``); ``decide``: read
    every file's saved features and decide, writing exactly what ``all`` writes; with ``partition=i/N``, decide
    one partition of the keys; ``resolve``: after every partition, write what ``decide`` writes. Every phase takes
    the same dedupers and options."""
    partition: str | None = None
    """With ``phase=decide``: index only partition ``i/N`` of the dedupers' keys (exact digests and URLs, MinHash
    band buckets, each hashed to a partition), so that N jobs each hold 1/N of the index, and save the groups of
    documents that share a key under ``dedup/partial/decide-<i>-of-<N>/``; ``phase=resolve`` then decides from
    them in one cheap job. Dedupers that cannot be partitioned (``bloom``) are decided by ``resolve``."""


@dataclass
class _Tally:
    """What one deduper marked, per source."""

    per_source: dict[str, Counter[str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))

    def add(self, documents: list[DocumentRef], marks: FileMarks) -> None:
        """Count one file's documents and what was marked in them."""
        sources = [document.source for document in documents]
        if not sources:
            return
        lengths = np.fromiter((document.length for document in documents), dtype=np.int64, count=len(documents))
        if sources.count(sources[0]) == len(sources):
            chosen: dict[str, Any] = {sources[0]: slice(None)}
        else:
            chosen = {source: np.fromiter((s == source for s in sources), dtype=bool, count=len(sources))
                      for source in dict.fromkeys(sources)}
        for source, rows in chosen.items():
            counts = self.per_source.get(source)
            if counts is None:
                counts = self.per_source[source] = Counter()
            counts["documents"] += int(lengths[rows].size)
            counts["characters"] += int(lengths[rows].sum())
            counts["duplicate_documents"] += int(marks.duplicate[rows].sum())
            counts["duplicate_characters"] += int(marks.characters[rows].sum())
            for key, values in marks.counts.items():
                counts[key] += int(values[rows].sum())

    def total(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for counts in self.per_source.values():
            total.update(counts)
        return total


def _decide(name: str, deduper: Deduper, file: str, found: FileFeatures, layout: Layout, tally: _Tally) -> None:
    start = time.perf_counter()
    documents = found.documents
    marks = deduper.mark_file(documents, found.features[name], attribute_key(name, name, ""))
    tally.add(documents, marks)
    # json.dumps({"id": ..., "source": ..., "attributes": ...}, ensure_ascii=False), the attributes already rendered
    rows = [f'{{"id": {json_string(document.id)}, "source": {json_string(document.source)}, '
            f'"attributes": {attributes}}}\n' for document, attributes in zip(documents, marks.attributes, strict=True)]
    tally.seconds["decisions"] += time.perf_counter() - start
    with open_atomic(layout.attributes(name, file), "wt", compression="infer", encoding="utf-8") as f:
        f.write("".join(rows))


def _phase(config: DedupConfig) -> str:
    phase = config.phase or ("features" if config.shard else "all")
    check_choice(phase, PHASES, "phase")
    if phase in ("decide", "resolve") and config.shard:
        raise ConfigError(f"phase={phase} takes no shard (shard={config.shard}): the decisions are global, so run "
                          f"it once, after phase=features has run over every shard")
    if config.partition is not None:
        if phase != "decide":
            raise ConfigError(f"partition={config.partition} goes with phase=decide (then phase=resolve), not "
                              f"phase={phase}")
        parse_partition(config.partition)
    return phase


def dedup_documents(config: DedupConfig, layout: Layout) -> dict[str, Any]:
    """Deduplicate the documents of ``layout``: mark repeated documents and paragraphs as Dolma attributes
    under its root, per deduper; return each deduper's report by name (or the features phase's report).

    Per-file work (hashes, signatures) runs in ``workers`` processes; the keep/duplicate decisions run in
    this process in corpus order (files sorted, then lines), so the first occurrence is kept and the output
    is the same for any number of workers. Each deduper writes ``attributes/<name>/<file>`` (one row per
    valid document) and ``reports/dedup-<name>.json`` (what it marked per source); invalid lines are
    quarantined. Drop or mask with ``olmo data filter exclude=['<name>__<name>__duplicate == 1']``.

    Across jobs: ``shard=i/N`` (``phase=features``) saves the features of a shard's files under
    ``dedup/features/``, and ``phase=decide`` decides over all of them, writing what one job writes. The decisions
    can also be split: ``phase=decide partition=i/N`` (N jobs) each index 1/N of the exact and MinHash keys and
    save the groups of documents sharing one, then ``phase=resolve`` writes what ``phase=decide`` writes (see
    :mod:`olmo_data.dedup.partition`).
    """
    if not config.dedupers:
        options = ", ".join(get_host().registry("dedupers").options()) or "none installed"
        raise ConfigError(f"`olmo data dedup` needs dedupers: dedupers=[name,...] (available: {options})")
    phase = _phase(config)
    files = [file for _, file in select_shard(layout.files, config.shard)]
    remove_temporaries(layout.root)
    specs = dict(config.dedupers)
    if phase == "features":
        return _save_all_features(config, layout, files, specs)
    registry = get_host().registry("dedupers")
    built = {name: registry.build(spec) for name, spec in specs.items()}
    ordered = sorted(name for name, deduper in built.items() if not deduper.independent)
    if config.shard and ordered:
        raise ConfigError(f"dedupers {', '.join(ordered)} decide against every earlier document: with "
                          f"shard={config.shard} use phase=features, then run phase=decide once")
    work: Callable[[list[str]], Iterator[FileFeatures]]
    if phase == "all":
        work = functools.partial(features_by_file, layout=layout, dedupers=specs, workers=config.workers,
                                 part_bytes=config.part_bytes)
    else:
        missing = {n: [layout.relative(f) for f in files if not exists(features_path(layout, n, f))] for n in specs}
        if lacking := {n: found for n, found in missing.items() if found}:
            count = sum(map(len, lacking.values()))
            first = next(iter(lacking.values()))[0]
            raise ConfigError(f"phase={phase}: the features of {', '.join(lacking)} are missing for "
                              f"{amount(count, 'file')} (first: {first}): run phase=features "
                              f"dedupers=[{','.join(specs)}] (shard=i/N) over every shard first")
        if config.partition is not None:
            return _decide_partition(config, layout, files, built)
        load = functools.partial(load_features, layout=layout.for_workers(), dedupers=specs,
                                 recompute=phase != "resolve")
        work = functools.partial(map_shards, load, workers=config.workers)
        if phase == "resolve":
            built = _resolvers(layout, files, built, specs)
    return _decide_files(config, layout, files, built, work, read_here=phase == "all")


def _partitioned(built: dict[str, Deduper]) -> list[str]:
    names = [name for name, deduper in built.items() if deduper.partitionable]
    if not names:
        raise ConfigError(f"none of the dedupers {', '.join(built)} decides in partitions (exact and minhash do): "
                          f"run phase=decide without partition")
    return names


def _decide_partition(config: DedupConfig, layout: Layout, files: list[str], built: dict[str, Deduper]) \
        -> dict[str, Any]:
    """Index partition ``config.partition`` of the partitionable dedupers' bucket hashes, read from every file's
    saved buckets in corpus order (only the partition's slice of each), and save the groups of documents sharing
    one (see :mod:`olmo_data.dedup.partition`)."""
    index, count = parse_partition(config.partition or "")
    names = _partitioned(built)
    missing = [f for f in files for n in names if not exists(buckets_path(layout.root, n, layout.relative(f)))]
    if missing:
        raise ConfigError(f"phase=decide partition={config.partition}: {amount(len(missing), 'saved bucket file')} "
                          f"{'is' if len(missing) == 1 else 'are'} missing "
                          f"(first: {buckets_path(layout.root, names[0], layout.relative(missing[0]))}): run "
                          f"phase=features again")
    path = layout.report(f"dedup-decide-{index}-of-{count}")
    started, done = time.perf_counter(), 0
    positions = dict.fromkeys(names, 0)
    keys: dict[str, list[str]] = {name: [] for name in names}
    buckets = {name: BucketIndex() for name in names}
    found_counts: dict[str, dict[str, int]] = {}

    def summary(error: str | None) -> dict[str, Any]:
        return {"command": "data dedup", "phase": "decide", "partition": config.partition, "files": len(files),
                "files_done": done, "complete": error is None, **({"error": error} if error else {}),
                "documents": positions[names[0]], "dedupers": found_counts,
                "partial": f"{layout.root}/dedup/partial/decide-{index}-of-{count}",
                "peak_rss_bytes": peak_rss_bytes(), "seconds": round(time.perf_counter() - started, 3)}

    with reporting(path, summary):
        urls = [(name, buckets_path(layout.root, name, layout.relative(file))) for file in files for name in names]
        configs = {name: to_dict(config.dedupers[name]) for name in names}
        work = functools.partial(_read_partition, index=index, count=count, configs=configs)
        with Progress(f"deciding partition {config.partition}", unit="files", total=len(files)) as progress:
            for (name, url), found in zip(urls, map_shards(work, urls, workers=config.workers), strict=True):
                buckets[name].add(found.hashes, found.positions + positions[name])
                positions[name] += found.documents
                keys[name].append(found.key)
                if name == names[-1]:
                    done += 1
                    progress.advance(1)
        if len(set(positions.values())) > 1:
            raise ConfigError(f"the saved buckets of {', '.join(names)} hold different documents "
                              f"({positions}): run phase=features again for all of them")
        for name in names:
            header = {"deduper": name, "config": to_dict(config.dedupers[name]), "partition": config.partition,
                      "files": len(files), "documents": positions[name], "features": key_of(keys[name])}
            found_counts[name] = buckets[name].write(partial_path(layout.root, index, count, name), header)
            del buckets[name]
    report = summary(None)
    write_text(path, json.dumps(report, indent=2) + "\n")
    log.info(f"partition {config.partition}: {amount(report['documents'], 'document')} in "
             f"{amount(len(files), 'file')}; "
             + "; ".join(f"{n}: {c['pairs']:,} keys, {c['groups']:,} shared" for n, c in found_counts.items())
             + f"; peak memory {report['peak_rss_bytes'] / 2**20:,.0f} MiB")
    log.info(f"partial: {report['partial']}/  next: phase=resolve (no partition) once every partition i/{count} "
             f"is done")
    return report


def _read_partition(task: tuple[str, str], *, index: int, count: int, configs: dict[str, Any]) -> FileBuckets:
    name, url = task
    return read_partition(url, index, count, name=name, config=configs[name])


def _resolvers(layout: Layout, files: list[str], built: dict[str, Deduper], specs: dict[str, Any]) \
        -> dict[str, Deduper]:
    """``built`` with each partitionable deduper replaced by its resolver over every partition's groups (checked
    to come from the features saved now)."""
    resolved = dict(built)
    for name in _partitioned(built):
        features = key_of([saved_header(file, layout=layout, name=name)["key"] for file in files])
        groups, found = read_groups(layout.root, name, to_dict(specs[name]), features)
        log.info(f"{name}: {found['groups']:,} groups of documents sharing a key, from {found['partitions']} "
                 f"partitions")
        resolved[name] = built[name].resolver(groups)
    return resolved


def _part_saved(part: Part, *, layout: Layout, dedupers: dict[str, Any]) -> FileFeatures:
    """A whole file's features saved here (returned without them), or a split file's part's features."""
    found = part_features(part, layout=layout, dedupers=dedupers)
    if not part.whole:
        return found
    save_features(part.file, found, layout=layout, dedupers=dedupers)
    return FileFeatures(found.records, found.quarantined, found.documents, {}, found.seconds)


def _save_all_features(config: DedupConfig, layout: Layout, files: list[str], specs: dict[str, Any]) \
        -> dict[str, Any]:
    work = functools.partial(_part_saved, layout=layout.for_workers(), dedupers=specs)
    records, documents, done, quarantined, seconds = 0, 0, 0, Counter[str](), Counter[str]()
    path = layout.report(report_name("dedup-features", config.shard))

    def summary(error: str | None) -> dict[str, Any]:
        return {"command": "data dedup", "phase": "features", "shard": config.shard, "files": len(files),
                "files_done": done, "complete": error is None, **({"error": error} if error else {}),
                **counted(records, written=documents, quarantined=sum(quarantined.values())),
                "documents": documents, "quarantine_reasons": dict(quarantined), "skipped_files": layout.skipped,
                "features": f"{layout.root}/dedup/features",
                "seconds": {name: round(seconds[name], 3) for name in specs}}

    with reporting(path, summary), Progress("computing dedup features", unit="docs") as progress:
        for file, parts in map_parts(work, files, workers=config.workers, part_bytes=config.part_bytes,
                                     progress=progress.update):
            found = assembled(file, parts, layout)
            if len(parts) > 1:
                save_features(file, found, layout=layout, dedupers=specs)
            records, documents, done = records + found.records, documents + len(found.documents), done + 1
            quarantined.update(found.quarantined)
            seconds.update(found.seconds)
        require_documents(records, documents, input=layout.root, step="olmo data dedup", reasons=quarantined,
                          report=path)
    report = summary(None)
    write_text(path, json.dumps(report, indent=2) + "\n")
    log.info(f"computed the {', '.join(specs)} features of {amount(documents, 'document')} in "
             f"{amount(len(files), 'file')}"
             f"{f' (shard {config.shard})' if config.shard else ''}; {counted_line(report)}")
    log.info(f"features: {layout.root}/dedup/features/  next: the same command with phase=decide and no shard, "
             f"once every shard is done")
    return report


def _decide_files(config: DedupConfig, layout: Layout, files: list[str], built: dict[str, Deduper],
                  work: Callable[..., Iterator[FileFeatures]], *, read_here: bool) -> dict[str, Any]:
    """Decide over each file's features, which ``work(files)`` gives in order (computed, reading the documents,
    when ``read_here``, and then given ``progress``; else loaded from a features phase)."""
    tallies = {name: _Tally() for name in built}
    records, done, quarantined = 0, 0, Counter[str]()
    started = time.perf_counter()
    paths = {name: layout.report(report_name(f"dedup-{name}", config.shard)) for name in built}

    def summary(error: str | None) -> dict[str, Any]:
        documents = records - sum(quarantined.values())
        return {"command": "data dedup", "shard": config.shard, "files": len(files), "files_done": done,
                "complete": error is None, **({"error": error} if error else {}),
                **counted(records, written=documents, quarantined=sum(quarantined.values())),
                "quarantine_reasons": dict(quarantined), "skipped_files": layout.skipped}

    with reporting(list(paths.values()), summary):
        items, kept = _input_items(config, layout, files, built, read_here=read_here)
        for name, deduper in built.items():
            deduper.begin(DedupContext(layout.root, name, items.get(name)))
        with Progress("deduplicating", unit="docs") as progress:
            computed = work([file for file in files if file not in kept],
                            **({"progress": progress.update} if read_here else {}))
            for file in files:
                found = kept.pop(file, None)
                if found is not None:
                    progress.advance(found.records)
                else:
                    found = next(computed)
                    if not read_here:
                        progress.advance(found.records)
                records += found.records
                quarantined.update(found.quarantined)
                for name, deduper in built.items():
                    tallies[name].seconds["features"] += found.seconds[name]
                    _decide(name, deduper, file, found, layout, tallies[name])
                done += 1
            if next(computed, None) is not None:  # ends the pool, as the last file's features were taken
                raise RuntimeError("dedup: more features than files")
        require_documents(records, records - sum(quarantined.values()), input=layout.root, step="olmo data dedup",
                          reasons=quarantined, report=next(iter(paths.values())))
        reports = {name: {**_report(name, config.dedupers[name], files, layout, tallies[name], deduper.end()),
                          **summary(None)} for name, deduper in built.items()}
    for name, report in reports.items():
        write_text(paths[name], json.dumps(report, indent=2) + "\n")
    _print_summary(reports, files, layout, time.perf_counter() - started)
    return reports


KEEP_FEATURES_BYTES = 256 << 20
"""Memory (about) up to which the features computed to count the input (:func:`_input_items`) are kept for the
decisions, so that those files are not read a second time."""


def _count_items(part: Part, *, layout: Layout, dedupers: dict[str, Any]) -> dict[str, int]:
    return part_features(part, layout=layout, dedupers=dedupers).items


def _input_items(config: DedupConfig, layout: Layout, files: list[str], built: dict[str, Deduper], *,
                 read_here: bool) -> tuple[dict[str, int], dict[str, FileFeatures]]:
    """Per deduper sized by the input, its items over every file: from the saved features' headers, or (reading
    the documents here) counted in a first pass over the input. When that pass computes every deduper's features,
    those of the first files, up to :data:`KEEP_FEATURES_BYTES`, are returned too (by file), to be decided without
    reading them again."""
    sized = {name: config.dedupers[name] for name, deduper in built.items() if deduper.sized_by_input}
    if not sized:
        return {}, {}
    if not read_here:
        return {name: sum(saved_items(file, layout=layout, name=name, spec=spec) for file in files)
                for name, spec in sized.items()}, {}
    totals: Counter[str] = Counter({name: 0 for name in sized})
    kept: dict[str, FileFeatures] = {}
    counted_files = 0
    with Progress(f"counting the input for {', '.join(sized)}", unit="docs") as progress:
        if len(sized) == len(built):  # the pass computes every deduper's features: keep them while they fit
            held = 0
            with contextlib.closing(features_by_file(files, layout=layout, dedupers=sized, workers=config.workers,
                                                     part_bytes=config.part_bytes, progress=progress.update)) \
                    as results:
                for file, found in zip(files, results, strict=False):
                    totals.update(found.items)
                    counted_files += 1
                    held += _approximate_bytes(found)
                    if held > KEEP_FEATURES_BYTES:
                        break
                    kept[file] = found
            # the files not yet counted are counted without keeping their features
        work = functools.partial(_count_items, layout=layout.for_workers(), dedupers=sized)
        for _, parts in map_parts(work, files[counted_files:], workers=config.workers, part_bytes=config.part_bytes,
                                  progress=progress.update):
            for items in parts:
                totals.update(items)
    return dict(totals), kept


def _approximate_bytes(found: FileFeatures) -> int:
    """About the memory that ``found`` holds."""
    return 300 * len(found.documents) + sum(_held(value) for values in found.features.values() for value in values)


def _held(value: Any) -> int:
    if isinstance(value, (bytes, str)):
        return 50 + len(value)
    if isinstance(value, np.ndarray):
        return 112 + value.nbytes
    if isinstance(value, (tuple, list)):
        return 56 + 8 * len(value) + sum(map(_held, value))
    return 32


def _report(name: str, spec: Any, files: list[str], layout: Layout, tally: _Tally, extra: dict[str, Any]) \
        -> dict[str, Any]:
    total = tally.total()
    seconds = tally.seconds["features"] + tally.seconds["decisions"]
    settings = {k: v for k, v in to_dict(spec).items() if k != NAME_KEY}
    return {
        "command": "data dedup", "deduper": name, "config": settings, "files": len(files),
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


def _print_summary(reports: dict[str, dict[str, Any]], files: list[str], layout: Layout, seconds: float) -> None:
    for name, report in reports.items():
        docs, chars = report["documents"], report["characters"]
        log.info(f"{name}: marked {report['duplicate_documents']:,} of {docs:,} documents "
                 f"({_share(report['duplicate_documents'], docs)}) and {report['duplicate_characters']:,} of "
                 f"{chars:,} characters ({_share(report['duplicate_characters'], chars)}); "
                 f"{report['docs_per_second'] or 0:,.0f} documents/s")
        for source, counts in report["per_source"].items():
            log.info(f"  {source}: {counts['duplicate_documents']:,} of {counts['documents']:,} documents, "
                     f"{counts['duplicate_characters']:,} of {counts['characters']:,} characters")
        details = report["details"]
        if "bits" in details:
            log.info(f"  filter: {details['filter']} ({details['bytes']:,} bytes, {details['hashes']} hashes, "
                     f"{details['items']:,} paragraphs for {details['expected_items']:,} expected; false-positive "
                     f"rate now {details['false_positive_rate_now']:.2g})")
    log.info(f"deduplicated {amount(len(files), 'file')} in {seconds:.1f}s; "
             f"{counted_line(next(iter(reports.values())))}")
    log.info(f"attributes: {layout.root}/attributes/  reports: {layout.root}/reports/dedup-*.json")


class DedupJob(Job):
    """Mark duplicate documents and paragraphs as attributes; in a pipeline, drop them into a new dataset.

    The marks go beside the input's documents (``olmo data dedup input=<dataset>`` works in place). When the
    job works outside the input dataset (a pipeline stage, or ``output=<dir>``), it also writes there the
    dataset without the documents any deduper marked as duplicates.

    Each deduper writes ``attributes/<name>/`` with keys ``<name>__<name>__duplicate`` (1 for a duplicate
    document) and its own: ``duplicate_of``, ``text_duplicate`` and ``url_duplicate`` (exact), ``duplicate_of``
    and ``similarity`` (minhash), ``duplicate_paragraph`` spans and ``duplicate_share`` (bloom); filter on them
    with ``olmo data filter "exclude=['exact__exact__duplicate == 1']"``."""

    command = "data dedup"
    inputs: ClassVar[dict[str, Slot]] = {"input": Slot(Dataset, help=DOCUMENTS_HELP)}
    outputs: ClassVar[dict[str, Slot]] = {"dataset": Slot(Dataset, help="the deduplicated dataset (in place: the "
                                                                        "input, with the marks)")}

    def default_workdir(self, config: DedupConfig, inputs: dict[str, Any]) -> str:
        """``<dataset>/reports/dedup/`` of the input dataset (loose files need ``output=``)."""
        return in_place_workdir(inputs["input"].path, "dedup")

    def run(self, config: DedupConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        """Mark duplicates (metrics: each deduper's report by name, or the features phase's or a partition's
        report); when dropping them too, metrics are the record counts, ``kept``, ``duplicates``, ``dropped_by``,
        ``documents_per_source`` and the dedupers' reports under ``dedupers``."""
        layout = layout_beside(inputs["input"].path, workdir)
        reports = dedup_documents(config, layout)
        workdir = workdir.rstrip("/")
        inside = workdir == layout.root or workdir.startswith(layout.root + "/")
        if inside or config.shard is not None or config.partition is not None or _phase(config) == "features":
            return JobResult(outputs={"dataset": inputs["input"]}, metrics=reports)
        names = list(config.dedupers)
        dropped = filter_documents(FilterConfig(attributes=names, exclude=[f"{n}__{n}__duplicate == 1" for n in names],
                                                workers=config.workers), layout.root, workdir, step="deduplicated")
        return JobResult(outputs={"dataset": Dataset(path=workdir)},
                         metrics={"command": "data dedup", **{k: dropped[k] for k in ("records", "written", "dropped",
                                                                                     "quarantined")},
                                  "kept": dropped["kept"], "duplicates": dropped["dropped"],
                                  "dropped_by": dropped["dropped_by"],
                                  "documents_per_source": kept_per_source(dropped), "dedupers": reports})

    def report(self, result: JobResult) -> Report:
        """What each deduper marked, and how many duplicates were dropped."""
        m = result.metrics
        if m.get("phase") == "features":
            return Report(markdown=f"## Deduplication\n\nfeatures of {m['documents']:,} documents saved "
                                   f"(shard {m['shard']}); decide with phase=decide.")
        if m.get("partition"):
            shared = ", ".join(f"{name}: {c['groups']:,} groups" for name, c in m["dedupers"].items())
            return Report(markdown=f"## Deduplication\n\npartition {m['partition']} of {m['documents']:,} documents "
                                   f"decided ({shared}; peak memory {m['peak_rss_bytes'] / 2**20:,.0f} MiB); "
                                   f"resolve with phase=resolve.")
        reports = m.get("dedupers", m)
        lines = [f"- {name}: {r['duplicate_documents']:,} of {r['documents']:,} documents marked"
                 for name, r in reports.items()]
        if "duplicates" in m:
            lines.append(f"- {m['duplicates']:,} duplicates dropped, {m['kept']:,} documents kept")
        return Report(markdown="\n".join(["## Deduplication", "", *lines]))
