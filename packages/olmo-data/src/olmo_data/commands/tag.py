"""The ``tag`` job (``olmo data tag``): run taggers over documents and write Dolma attribute files."""

from __future__ import annotations

import functools
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar

from olmo_core.artifacts import Dataset
from olmo_core.config import components, non_negative, positive
from olmo_core.documents import Document, DocumentRange, Quarantined, require_documents
from olmo_core.errors import ConfigError, PluginError
from olmo_core.io import open_atomic, remove_temporaries, write_text
from olmo_core.jobs import Job, JobResult, Report, Slot
from olmo_core.plugins import get_host
from olmo_core.progress import Progress

from olmo_data.layout import (DOCUMENTS_HELP, Layout, amount, counted, counted_line, in_place_workdir, layout_beside,
                              report_name, reporting, select_shard)
from olmo_data.parallel import (PART_BYTES, Part, join_part_files, joined_quarantine, map_parts, part_file,
                                remove_part_files, scratch_folder)
from olmo_data.parallel import counted as counting
from olmo_data.taggers.base import attribute_key, attributes_problem, too_long

__all__ = ["TagConfig", "TagJob", "tag"]

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class TagConfig:
    """Options of the ``tag`` job (``olmo data tag``)."""

    taggers: Any = components("taggers", help="the taggers to run, in order")
    experiment: str | None = None
    """Prefix of the attribute keys (``<experiment>__<tagger>__<name>``); default: each tagger's name."""
    workers: int = non_negative(1)
    """Processes tagging files, and parts of large files, in parallel (0: one per CPU core); the output does not
    depend on it."""
    part_bytes: int = positive(PART_BYTES)
    """Files with more content than this (32 MiB) are tagged in parts of this size, in parallel; the output does
    not depend on it."""
    shard: str | None = None
    """Handle only shard ``i/N`` of the input files (every N-th from the i-th), for sweeps across machines."""


@dataclass
class FileResult:
    """What tagging one file, or one part of a file, found."""

    records: int = 0
    documents: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)
    failing: Counter[str] = field(default_factory=Counter)
    """Documents by the first rule they fail (``<tagger>: <reason>``), for the rule taggers that write ``reason``."""
    parts: int = 1
    lines: int = 0
    """A part's lines (blank ones included), by which the quarantine records of the parts after it are shifted."""
    quarantined: list[Quarantined] = field(default_factory=list)
    """The quarantined records of a split file's part, numbered from its first line (kept by the parent)."""
    rows: dict[str, str] = field(default_factory=dict)
    """A part's temporary file of attribute rows per tagger (the parent writes them into the file's)."""


def _tag_part(part: Part, *, layout: Layout, taggers: dict[str, Any], experiment: str | None,
              scratch: str) -> FileResult:
    """Tag one part of a file: a whole file's attributes and quarantine are written here; a split file's part
    writes its rows to temporary files in ``scratch`` (:func:`~olmo_data.parallel.part_file`) and returns its
    quarantined records, which :func:`_assemble` puts together."""
    registry = get_host().registry("taggers")
    built = {name: registry.build(cfg) for name, cfg in taggers.items()}
    result = FileResult()
    records = part.records()
    if not part.whole:
        result.rows = {name: part_file(scratch) for name in built}
    try:
        with ExitStack() as stack:
            if part.whole:
                outputs = {name: stack.enter_context(open_atomic(layout.attributes(name, part.file), "wt",
                                                                 compression="infer", encoding="utf-8"))
                           for name in built}
            else:
                outputs = {name: stack.enter_context(open(path, "w", encoding="utf-8", newline=""))
                           for name, path in result.rows.items()}
            _tag_records(part.file, counting(records), built, outputs, result, experiment)
    except BaseException:
        remove_part_files(result.rows.values())
        raise
    if part.whole:
        result.reasons = layout.keep_quarantined(part.file, result.quarantined)
        result.quarantined = []
    elif isinstance(records, DocumentRange):
        result.lines = records.lines
    return result


_encode = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(row, ensure_ascii=False)`` without making an encoder for every row."""


class _Keys(dict[str, str]):
    """One tagger's Dolma attribute keys (:func:`~olmo_data.taggers.base.attribute_key`) by attribute name, each
    made once."""

    def __init__(self, prefix: str, tagger: str) -> None:
        super().__init__()
        self.prefix, self.tagger = prefix, tagger

    def __missing__(self, name: str) -> str:
        key = self[name] = attribute_key(self.prefix, self.tagger, name)
        return key


def _tag_records(file: str, records: Iterator[Document | Quarantined], built: dict[str, Any],
                 outputs: dict[str, IO[str]], result: FileResult, experiment: str | None) -> None:
    """Tag ``records`` of ``file``, one row per document (quarantined or not) to each tagger's output."""
    keys = {name: _Keys(experiment or name, name).__getitem__ for name in built}
    unchecked = set(built)  # each tagger's first document is checked span by span, the others by their shape
    for item in records:
        result.records += 1
        if isinstance(item, Quarantined):
            result.quarantined.append(item)
            continue
        refused = too_long(item, built)
        if refused:  # it stays in the file: quarantined without its bytes, and a row keeps each file aligned
            result.quarantined.append(Quarantined(file=file, line=item.line, reason=next(iter(refused.values()))))
            for name, reason in refused.items():
                row = {"id": item.id, "source": item.source, "attributes": {}, "not_tagged": reason}
                outputs[name].write(json.dumps(row) + "\n")
        else:
            result.documents += 1
        for name, tagger in built.items():
            if name in refused:  # the other taggers tag it: a filter on their attributes alone keeps it
                continue
            start = time.perf_counter()
            try:
                attributes = tagger.tag(item)
            except Exception as exc:
                raise PluginError(f"tagger '{name}' failed on document '{item.id}' of {file}: "
                                  f"{type(exc).__name__}: {exc}") from exc
            result.seconds[name] += time.perf_counter() - start
            if problem := attributes_problem(attributes, spans=name in unchecked):
                raise PluginError(f"tagger '{name}' {problem}, for document '{item.id}' of {file}")
            unchecked.discard(name)
            if reason := attributes.get("reason"):
                result.failing[f"{name}: {reason[0][2]}"] += 1
            row = {"id": item.id, "source": item.source,
                   "attributes": dict(zip(map(keys[name], attributes), attributes.values()))}
            outputs[name].write(_encode(row) + "\n")


def _assemble(file: str, parts: list[FileResult], layout: Layout) -> FileResult:
    """The result of a file tagged in ``parts``: its attribute files written from the parts' rows in order (the
    same writes, hence the same bytes, as one process makes) and its quarantine from theirs, renumbered."""
    if len(parts) == 1 and not parts[0].rows:
        return parts[0]
    total = FileResult(parts=len(parts))
    try:
        for name in parts[0].rows:
            join_part_files(layout.attributes(name, file), [part.rows[name] for part in parts])
        for part in parts:
            total.records += part.records
            total.documents += part.documents
            total.seconds.update(part.seconds)
            total.failing.update(part.failing)
        total.reasons = layout.keep_quarantined(file, joined_quarantine((p.quarantined, p.lines) for p in parts))
    finally:
        for part in parts:
            remove_part_files(part.rows.values())
    return total


def tag(config: TagConfig, layout: Layout, input: str | None = None) -> dict[str, Any]:
    """Tag the documents of ``layout``: write each tagger's attributes under its root, aligned row by row.

    Reads Dolma JSON lines (plain, .gz, .zst) and Parquet from any fsspec path, one file per worker process at
    a time, or a file larger than ``part_bytes`` in parts (:func:`~olmo_data.parallel.map_parts`), its output
    the same bytes as if it were tagged whole; the report counts the ``parts``. Lines that are not valid
    documents are quarantined with their file, line and reason, never dropped silently; the report counts
    documents in, tagged and quarantined. When every record was quarantined, or a tagger fails part-way, the
    report is still written (``complete: false`` with the error) and the run fails
    with one line (:class:`~olmo_core.documents.NoDocumentsError`, or the tagger's error); ``input`` is the
    path that error names (default: the dataset's root).
    """
    if not config.taggers:
        options = ", ".join(get_host().registry("taggers").options()) or "none installed"
        raise ConfigError(f"`olmo data tag` needs taggers: taggers=[name,...] (available: {options})")
    files = [file for _, file in select_shard(layout.files, config.shard)]
    remove_temporaries(layout.root)
    total = FileResult(parts=0)
    done = 0
    report_path = layout.report(report_name("tag", config.shard))

    def summary(error: str | None) -> dict[str, Any]:
        return {
            "command": "data tag", "files": len(files), "files_done": done, "shard": config.shard,
            "complete": error is None, **({"error": error} if error else {}),
            **counted(total.records, written=total.documents, quarantined=sum(total.reasons.values())),
            "documents": total.documents, "parts": total.parts, "quarantine_reasons": dict(total.reasons),
            "skipped_files": layout.skipped,
            "failing": dict(sorted(total.failing.items(), key=lambda item: (-item[1], item[0]))),
            "taggers": {name: {"attributes": f"{layout.root}/attributes/{name}",
                               "seconds": round(total.seconds[name], 3),
                               "docs_per_second": round(total.documents / total.seconds[name], 1)
                               if total.seconds[name] else None}
                        for name in config.taggers},
        }

    with reporting(report_path, summary), Progress("tagging", unit="docs") as progress, \
            scratch_folder(layout.root) as scratch:
        work = functools.partial(_tag_part, layout=layout, taggers=dict(config.taggers),
                                 experiment=config.experiment, scratch=scratch)
        for file, parts in map_parts(work, files, workers=config.workers, part_bytes=config.part_bytes,
                                     progress=progress.update):
            result = _assemble(file, parts, layout)
            total.parts += result.parts
            total.records += result.records
            total.documents += result.documents
            total.reasons.update(result.reasons)
            total.seconds.update(result.seconds)
            total.failing.update(result.failing)
            done += 1
            progress.advance(0, postfix=f"{done}/{len(files)} files")
        require_documents(total.records, total.documents, input=input or layout.root, step="olmo data tag",
                          reasons=total.reasons, report=report_path)
    report = summary(None)
    write_text(report_path, json.dumps(report, indent=2) + "\n")
    reasons = f" ({dict(total.reasons)})" if total.reasons else ""
    log.info(f"tagged {amount(total.documents, 'document')} from {amount(len(files), 'file')} with "
             f"{', '.join(config.taggers)}; "
             f"{counted_line(report)}{reasons}")
    for name in config.taggers:
        fails = {rule: n for (tagger, _, rule), n in ((key.partition(": "), n) for key, n in report["failing"].items())
                 if tagger == name}
        if fails:
            log.info(f"  {name}: {amount(sum(fails.values()), 'document')} fail a rule (keep=0): "
                     + ", ".join(f"{rule} {n:,}" for rule, n in fails.items()))
    log.info(f"attributes: {layout.root}/attributes/  report: {report_path}")
    return report


class TagJob(Job):
    """Run taggers over documents and write their Dolma attributes beside them.

    Attributes go to ``attributes/<tagger>/`` beside the input dataset's documents (with loose files as input,
    under ``output=``); the output is the same dataset."""

    command = "data tag"
    inputs: ClassVar[dict[str, Slot]] = {"input": Slot(Dataset, help=DOCUMENTS_HELP)}
    outputs: ClassVar[dict[str, Slot]] = {"dataset": Slot(Dataset, help="the input, with its attributes")}

    def default_workdir(self, config: TagConfig, inputs: dict[str, Any]) -> str:
        """``<dataset>/reports/tag/`` of the input dataset (loose files need ``output=``)."""
        return in_place_workdir(inputs["input"].path, "tag")

    def run(self, config: TagConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        """Tag the input; metrics: the tag report (documents, quarantined, taggers ...)."""
        report = tag(config, layout_beside(inputs["input"].path, workdir), inputs["input"].path)
        return JobResult(outputs={"dataset": inputs["input"]}, metrics=report)

    def report(self, result: JobResult) -> Report:
        """One line: documents tagged, by which taggers, and how many lines were quarantined."""
        m = result.metrics
        return Report(markdown=f"## Tagging\n\n{m['documents']:,} documents tagged with {', '.join(m['taggers'])}; "
                               f"{m['quarantined']:,} lines quarantined.")
