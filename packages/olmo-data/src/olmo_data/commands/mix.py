"""The ``mix`` job (``olmo data mix``): the training mix, by source factors or target proportions."""

from __future__ import annotations

import functools
import json
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from olmo_core.artifacts import Dataset
from olmo_core.config import component, names, non_negative, positive
from olmo_core.documents import Document, DocumentRange, Quarantined, require_documents
from olmo_core.errors import ConfigError, PluginError
from olmo_core.io import open_atomic, write_text
from olmo_core.jobs import JobResult, Report, Slot
from olmo_core.plugins import get_host
from olmo_core.progress import Progress
from olmo_core.tokenizer import load_tokenizer

from olmo_data.layout import (Layout, NewDatasetJob, amount, counted, counted_line, find_layout, remove_stale,
                              report_name, reporting, select_shard, shared_output, stale_removed)
from olmo_data.mixing.mixers import copies
from olmo_data.parallel import (PART_BYTES, Part, join_part_files, joined_quarantine, map_parts, part_file,
                                remove_part_files, scratch_folder)
from olmo_data.parallel import counted as counted_records

__all__ = ["MixConfig", "MixJob", "mix"]

log = logging.getLogger(__name__)

SHARE_TOLERANCE = 0.01
"""How far (absolute) a source's share of the mix may be from its target before the report says so."""


@dataclass(kw_only=True)
class MixConfig:
    """Options of the ``mix`` job (``olmo data mix``)."""

    mixer: Any = component("mixers", default="factors", help="how each source's factor is decided")
    unit: str = "bytes"
    """What sizes and proportions count: ``bytes`` of UTF-8 text, or ``tokens`` (with ``tokenizer``)."""
    tokenizer: str = names("tokenizers", "olmo-v1.5")
    """Tokenizer that counts tokens when ``unit=tokens``."""
    workers: int = non_negative(1)
    """Processes reading and writing files, and parts of large files, in parallel (0: one per CPU core); the mix
    does not depend on it."""
    part_bytes: int = positive(PART_BYTES)
    """Files with more content than this (32 MiB) are measured and mixed in parts of this size, in parallel; the
    mix does not depend on it."""
    shard: str | None = None
    """Write only shard ``i/N`` of the files (sizes are still measured over all of them, so the factors and
    the documents each shard writes are those of a single run)."""


def _size(document: Document, tokenizer: Any) -> int:
    return len(tokenizer.encode(document.text)) if tokenizer is not None else len(document.text.encode("utf-8"))


def _measure(part: Part, unit: str, tokenizer: str) -> tuple[Counter[str], Counter[str]]:
    counter = load_tokenizer(tokenizer) if unit == "tokens" else None
    sizes: Counter[str] = Counter()
    documents: Counter[str] = Counter()
    for item in counted_records(part.records()):
        if isinstance(item, Document):
            sizes[item.source] += _size(item, counter)
            documents[item.source] += 1
    return sizes, documents


@dataclass
class _Written:
    """What mixing one file, or one part of a split file, wrote and counted."""

    sizes: Counter[str] = field(default_factory=Counter)
    documents: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    lines: int = 0
    """A split file's part: its lines, by which the quarantined records of the parts after it are renumbered."""
    held: list[Quarantined] = field(default_factory=list)
    """A split file's part: its quarantined records, numbered from its first line."""
    rows: str = ""
    """A split file's part: its temporary file of rows."""

    def add(self, other: _Written) -> None:
        for mine, theirs in ((self.sizes, other.sizes), (self.documents, other.documents),
                             (self.counts, other.counts), (self.reasons, other.reasons)):
            mine.update(theirs)


def _write(part: Part, layout: Layout, out: Layout, factors: dict[str, float], seed: int, unit: str,
           tokenizer: str, scratch: str) -> _Written:
    """Write the copies of ``part``'s documents: a whole file's to its output file (its quarantine kept), a split
    file's part's to a temporary file in ``scratch`` (its quarantined records held for :func:`_assemble`)."""
    counter = load_tokenizer(tokenizer) if unit == "tokens" else None
    result = _Written()
    quarantined: list[Quarantined] = []
    records = part.records()
    if part.whole:
        output = open_atomic(f"{out.root}/documents/{layout.jsonl(part.file)}", "wt", compression="infer",
                             encoding="utf-8")
    else:
        result.rows = part_file(scratch)
        output = open(result.rows, "w", encoding="utf-8", newline="")
    try:
        with output as f:
            for item in counted_records(records):
                result.counts["records"] += 1
                if isinstance(item, Quarantined):
                    quarantined.append(item)
                    continue
                n = copies(item.id, factors[item.source], seed)
                result.counts["written" if n else "dropped"] += 1
                if n:
                    size = _size(item, counter)
                    record = item.to_json()
                    for copy in range(n):
                        f.write(json.dumps({**record, "id": item.id if copy == 0 else f"{item.id}#{copy}"},
                                           ensure_ascii=False) + "\n")
                    result.sizes[item.source] += n * size
                    result.documents[item.source] += n
    except BaseException:
        remove_part_files([result.rows] if result.rows else [])
        raise
    if part.whole:
        result.reasons = out.keep_quarantined(part.file, quarantined, replace=True)
    else:
        result.held, result.lines = quarantined, records.lines if isinstance(records, DocumentRange) else 0
    return result


def _assemble(file: str, parts: list[_Written], layout: Layout, out: Layout) -> _Written:
    """The result of a file mixed in ``parts``: its output written from the parts' rows in order (the same
    writes, hence the same bytes, as one process makes) and its quarantine from theirs, renumbered."""
    if len(parts) == 1:
        return parts[0]
    total = _Written()
    try:
        join_part_files(f"{out.root}/documents/{layout.jsonl(file)}", [part.rows for part in parts])
        for part in parts:
            total.add(part)
        total.reasons = out.keep_quarantined(file, joined_quarantine((p.held, p.lines) for p in parts), replace=True)
    finally:
        remove_part_files(part.rows for part in parts)
    return total


def _mixer(config: MixConfig) -> Any:
    """The configured mixer, once ``unit`` is known and the mixer has what a mixer needs."""
    if config.unit not in ("bytes", "tokens"):
        raise ConfigError(f"unit must be 'bytes' or 'tokens', not {config.unit!r}")
    mixers = get_host().registry("mixers")
    mixer = mixers.build(config.mixer)
    lacking = [need for need, ok in (("seed (an int)", isinstance(getattr(mixer, "seed", None), int)),
                                     ("factors(sizes)", callable(getattr(mixer, "factors", None)))) if not ok]
    if lacking:
        component = mixers.component_of(config.mixer)
        raise PluginError(f"mixer '{component.name}' of {component.origin} has no {' and no '.join(lacking)}: a mixer "
                          f"has both (olmo_data.mixing.mixers.Mixer)")
    return mixer


Measured = tuple[Counter[str], Counter[str]]
"""Each source's size (in the mix's unit) and documents."""


def _measure_sources(config: MixConfig, files: list[str]) -> Measured:
    """The size and documents of every source of ``files`` (all of them, whatever the shard)."""
    sizes: Counter[str] = Counter()
    documents: Counter[str] = Counter()
    measure = functools.partial(_measure, unit=config.unit, tokenizer=config.tokenizer)
    with Progress("measuring sources", unit="docs") as progress:
        for _, parts in map_parts(measure, files, workers=config.workers, part_bytes=config.part_bytes,
                                  progress=progress.update):
            for part_sizes, part_documents in parts:
                sizes.update(part_sizes)
                documents.update(part_documents)
    return sizes, documents


def mix(config: MixConfig, input: str, output: str, measured: Measured | None = None, *,
        layout: Layout | None = None) -> dict[str, Any]:
    """Mix the sources of ``input`` into the dataset ``output``: each document is written 0, 1 or more times
    according to its source's factor, chosen by hashing its id (reproducible whatever the workers). The mixer
    sets factors directly (``factors``) or from target shares of bytes or tokens (``proportions``);
    ``reports/mix.json`` records each source's size, factor and share before and after, and counts every record
    read: written, dropped (sampled to 0 copies) or quarantined (invalid lines, under ``quarantine/`` with
    file, line and reason). A run that fails, or finds every record quarantined, writes its report with
    ``complete: false`` and raises. ``measured``: the sources' sizes and documents when they were measured already
    (by :meth:`MixJob.check`); ``layout``: ``input``'s layout when its files were listed already (by
    :meth:`MixJob.check`, which measured those files), so that they are listed once.
    """
    layout = layout if layout is not None else find_layout(input, None)
    out = Layout(layout.files, output.rstrip("/"), layout.documents_root)
    mixer = _mixer(config)
    sizes: Counter[str] = Counter()
    documents: Counter[str] = Counter()
    mixed: Counter[str] = Counter()
    mixed_documents: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    files = [file for _, file in select_shard(layout.files, config.shard)]
    report_path = out.report(report_name("mix", config.shard))
    done = 0
    stale = stale_removed(remove_stale(out, layout.files), out.root)  # an earlier run's, for input files gone since

    def summary(error: str | None) -> dict[str, Any]:
        return {"command": "data mix", "shard": config.shard, "files": len(files), "files_done": done,
                "complete": error is None, **({"error": error} if error else {}),
                **counted(counts["records"], written=counts["written"], dropped=counts["dropped"],
                          quarantined=counts["quarantined"]),
                "quarantine_reasons": dict(reasons), "skipped_files": layout.skipped,
                **stale}

    with reporting(report_path, summary), scratch_folder(out.root) as scratch:
        found = measured if measured is not None else _measure_sources(config, layout.files)
        sizes.update(found[0])
        documents.update(found[1])
        factors = mixer.factors(dict(sorted(sizes.items())))
        write = functools.partial(_write, layout=layout.for_workers(), out=out.for_workers(), factors=factors,
                                  seed=mixer.seed, unit=config.unit, tokenizer=config.tokenizer, scratch=scratch)
        with Progress("mixing", unit="docs") as progress:
            for file, parts in map_parts(write, files, workers=config.workers, part_bytes=config.part_bytes,
                                         progress=progress.update):
                written = _assemble(file, parts, layout, out)
                mixed.update(written.sizes)
                mixed_documents.update(written.documents)
                counts.update(written.counts)
                reasons.update(written.reasons)
                counts["quarantined"] += sum(written.reasons.values())
                done += 1
                progress.advance(0, postfix=f"{done}/{len(files)} files")
        counted(counts["records"], written=counts["written"], dropped=counts["dropped"],
                quarantined=counts["quarantined"], check=True)
        require_documents(counts["records"], counts["records"] - counts["quarantined"], input=input,
                          step="olmo data mix", reasons=reasons, report=report_path)
    total_in, total_out = sum(sizes.values()), sum(mixed.values())
    expected = sum(factors[source] * sizes[source] for source in sizes)
    manifest = {source: {"documents_in": documents[source], f"{config.unit}_in": sizes[source],
                         "share_in": round(sizes[source] / total_in, 6) if total_in else 0.0,
                         "factor": round(factors[source], 6), "documents_out": mixed_documents[source],
                         f"{config.unit}_out": mixed[source],
                         "share_target": round(factors[source] * sizes[source] / expected, 6) if expected else 0.0,
                         "share_out": round(mixed[source] / total_out, 6) if total_out else 0.0}
                for source in sorted(sizes)}
    named = getattr(getattr(mixer, "config", None), "proportions", None)
    notes = [f"{source} is left out of the mix ({amount(row['documents_in'], 'document')} dropped): "
             f"mixer.proportions does not name it; give it a share to keep it"
             for source, row in manifest.items() if isinstance(named, Mapping) and source not in named]
    notes += [f"{source} is repeated for its {row['share_target']:.1%} share: its documents are written "
              f"x{row['factor']:.3g} on average" for source, row in manifest.items() if row["factor"] > 1]
    if config.shard is None:  # a shard's shares depend on which files it holds: only the whole mix has targets
        notes += [f"{source} reached {row['share_out']:.1%} of the mix, not its target {row['share_target']:.1%} "
                  f"(too few documents to sample finely)" for source, row in manifest.items()
                  if abs(row["share_out"] - row["share_target"]) > SHARE_TOLERANCE]
    report = {**summary(None), "unit": config.unit, "seed": mixer.seed, f"{config.unit}_in": total_in,
              f"{config.unit}_out": total_out, "documents_out": sum(mixed_documents.values()), "sources": manifest,
              "notes": notes}
    write_text(report_path, json.dumps(report, indent=2) + "\n")
    if config.shard is None:
        log.info(f"mixed {amount(sum(documents.values()), 'document')} ({total_in:,} {config.unit}) into "
                 f"{report['documents_out']:,} ({total_out:,} {config.unit}); {counted_line(report)}:")
    else:
        log.info(f"mixed shard {config.shard} into {amount(report['documents_out'], 'document')} ({total_out:,} "
                 f"{config.unit}); {counted_line(report)}; factors from all "
                 f"{amount(sum(documents.values()), 'document')} "
                 f"({total_in:,} {config.unit}); the shard's own shares (the whole mix's are those of all shards):")
    for source, row in manifest.items():
        log.info(f"  {source:<16} x{row['factor']:<8.3g} {row['share_in']:>7.1%} -> {row['share_out']:>7.1%} "
                 f"(target {row['share_target']:.1%}, {amount(row['documents_out'], 'document')})")
    for note in notes:
        log.warning(note)
    return report


def _measure_key(config: MixConfig, input: str) -> tuple[Any, ...]:
    """What the listing and the sizes of :func:`_measure_sources` depend on: ``run`` reuses those ``check`` found for
    the same (the sizes are those of the files listed, so the two always agree)."""
    return input, config.unit, config.tokenizer


class MixJob(NewDatasetJob):
    """Sample the input's sources to the configured mix, into a new dataset."""

    command = "data mix"
    inputs: ClassVar[dict[str, Slot]] = {"input": Slot(Dataset, help="documents that carry their source")}
    outputs: ClassVar[dict[str, Slot]] = {"dataset": Slot(Dataset, help="the mix")}

    def check(self, config: MixConfig, inputs: dict[str, Any], workdir: str) -> None:
        """Refuse an output that overlaps the input, and a mix the config cannot make (an unknown unit, a mixer
        that refuses the input's sources: proportions or factors naming a source the input does not have ...),
        before anything is written: the input's files are listed and the sources measured here, and ``run`` mixes
        these files with these sizes."""
        super().check(config, inputs, workdir)
        mixer = _mixer(config)
        layout = find_layout(inputs["input"].path, None)
        measured = _measure_sources(config, layout.files)
        mixer.factors(dict(sorted(measured[0].items())))
        self._checked: dict[tuple[Any, ...], tuple[Layout, Measured]] = {
            _measure_key(config, inputs["input"].path): (layout, measured)}

    def run(self, config: MixConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        """Mix; metrics: the mix report (sizes, factors and shares per source ...) and
        ``documents_per_source`` written."""
        output = shared_output(workdir)
        input = inputs["input"].path
        checked = getattr(self, "_checked", {}).pop(_measure_key(config, input), None)
        layout, measured = checked if checked is not None else (None, None)
        report = mix(config, input, output, measured, layout=layout)
        documents = {source: row["documents_out"] for source, row in report["sources"].items()}
        return JobResult(outputs={"dataset": Dataset(path=output)},
                         metrics={**report, "documents_per_source": documents})

    def report(self, result: JobResult) -> Report:
        """Each source's factor and share of the mix."""
        m = result.metrics
        lines = ["## Mixing", "", f"{amount(m['documents_out'], 'document')} ({counted_line(m)}); share of "
                 f"{m['unit']} per source:", ""]
        lines += [f"- {source}: x{row['factor']:.3g}, {row['share_in']:.1%} -> {row['share_out']:.1%} (target "
                  f"{row['share_target']:.1%})" for source, row in m["sources"].items()]
        lines += ["", *(f"**Note:** {note}" for note in m["notes"])] if m["notes"] else []
        return Report(markdown="\n".join(lines))
