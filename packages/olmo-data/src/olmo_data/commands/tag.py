"""The ``tag`` job (``olmo data tag``): run taggers over documents and write Dolma attribute files."""

from __future__ import annotations

import functools
import json
import logging
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any, ClassVar

from olmo_core.artifacts import Dataset
from olmo_core.config import components, non_negative
from olmo_core.documents import Quarantined, require_documents
from olmo_core.errors import ConfigError, PluginError
from olmo_core.io import open_atomic, remove_temporaries, write_text
from olmo_core.jobs import Job, JobResult, Report, Slot
from olmo_core.plugins import get_host
from olmo_core.progress import Progress

from olmo_data.layout import (DOCUMENTS_HELP, Layout, counted, counted_line, in_place_workdir, layout_beside,
                              report_name, reporting, select_shard)
from olmo_data.parallel import map_shards, read_counted
from olmo_data.taggers.base import attribute_key, too_long

__all__ = ["TagConfig", "TagJob", "tag"]

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class TagConfig:
    """Options of the ``tag`` job (``olmo data tag``)."""

    taggers: Any = components("taggers", help="the taggers to run, in order")
    experiment: str | None = None
    """Prefix of the attribute keys (``<experiment>__<tagger>__<name>``); default: each tagger's name."""
    workers: int = non_negative(1)
    """Processes tagging files in parallel (0: one per CPU core); the output does not depend on it."""
    shard: str | None = None
    """Handle only shard ``i/N`` of the input files (every N-th from the i-th), for sweeps across machines."""


@dataclass
class FileResult:
    """What tagging one file found."""

    records: int = 0
    documents: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)


def _tag_file(file: str, *, layout: Layout, taggers: dict[str, Any], experiment: str | None) -> FileResult:
    registry = get_host().registry("taggers")
    built = {name: registry.build(cfg) for name, cfg in taggers.items()}
    result = FileResult()
    quarantined: list[Quarantined] = []
    with ExitStack() as stack:
        outputs = {name: stack.enter_context(open_atomic(layout.attributes(name, file), "wt", compression="infer",
                                                         encoding="utf-8")) for name in built}
        for item in read_counted(file):
            result.records += 1
            if isinstance(item, Quarantined):
                quarantined.append(item)
                continue
            if reason := too_long(item, built):  # it stays in the file: quarantined without its bytes, and a row
                quarantined.append(Quarantined(file=file, line=item.line, reason=reason))  # keeps files aligned
                row = {"id": item.id, "source": item.source, "attributes": {}, "not_tagged": reason}
                for output in outputs.values():
                    output.write(json.dumps(row) + "\n")
                continue
            result.documents += 1
            for name, tagger in built.items():
                start = time.perf_counter()
                try:
                    attributes = tagger.tag(item)
                except Exception as exc:
                    raise PluginError(f"tagger '{name}' failed on document '{item.id}' of {file}: "
                                      f"{type(exc).__name__}: {exc}") from exc
                result.seconds[name] += time.perf_counter() - start
                prefix = experiment or name
                row = {"id": item.id, "source": item.source,
                       "attributes": {attribute_key(prefix, name, k): v for k, v in attributes.items()}}
                outputs[name].write(json.dumps(row, ensure_ascii=False) + "\n")
    result.reasons = layout.keep_quarantined(file, quarantined)
    return result


def tag(config: TagConfig, layout: Layout, input: str | None = None) -> dict[str, Any]:
    """Tag the documents of ``layout``: write each tagger's attributes under its root, aligned row by row.

    Reads Dolma JSON lines (plain, .gz, .zst) and Parquet from any fsspec path, one file per worker process at
    a time. Lines that are not valid documents are quarantined with their file, line and reason, never dropped
    silently; the report counts documents in, tagged and quarantined. When every record was quarantined, or a
    tagger fails part-way, the report is still written (``complete: false`` with the error) and the run fails
    with one line (:class:`~olmo_core.documents.NoDocumentsError`, or the tagger's error); ``input`` is the
    path that error names (default: the dataset's root).
    """
    if not config.taggers:
        options = ", ".join(get_host().registry("taggers").options()) or "none installed"
        raise ConfigError(f"`olmo data tag` needs taggers: taggers=[name,...] (available: {options})")
    files = [file for _, file in select_shard(layout.files, config.shard)]
    remove_temporaries(layout.root)
    work = functools.partial(_tag_file, layout=layout, taggers=dict(config.taggers), experiment=config.experiment)
    total = FileResult()
    done = 0
    report_path = layout.report(report_name("tag", config.shard))

    def summary(error: str | None) -> dict[str, Any]:
        return {
            "command": "data tag", "files": len(files), "files_done": done, "shard": config.shard,
            "complete": error is None, **({"error": error} if error else {}),
            **counted(total.records, written=total.documents, quarantined=sum(total.reasons.values())),
            "documents": total.documents, "quarantine_reasons": dict(total.reasons), "skipped_files": layout.skipped,
            "taggers": {name: {"attributes": f"{layout.root}/attributes/{name}",
                               "seconds": round(total.seconds[name], 3),
                               "docs_per_second": round(total.documents / total.seconds[name], 1)
                               if total.seconds[name] else None}
                        for name in config.taggers},
        }

    with reporting(report_path, summary), Progress("tagging", unit="docs") as progress:
        for result in map_shards(work, files, workers=config.workers, progress=progress.update):
            total.records += result.records
            total.documents += result.documents
            total.reasons.update(result.reasons)
            total.seconds.update(result.seconds)
            done += 1
            progress.advance(0, postfix=f"{done}/{len(files)} files")
        require_documents(total.records, total.documents, input=input or layout.root, step="olmo data tag",
                          reasons=total.reasons, report=report_path)
    report = summary(None)
    write_text(report_path, json.dumps(report, indent=2) + "\n")
    reasons = f" ({dict(total.reasons)})" if total.reasons else ""
    log.info(f"tagged {total.documents} documents from {len(files)} files with {', '.join(config.taggers)}; "
             f"{counted_line(report)}{reasons}")
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
