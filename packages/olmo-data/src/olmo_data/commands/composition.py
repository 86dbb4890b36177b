"""The ``composition`` job: documents per source after each curation step, from the steps' own metrics.

Every data job that writes a dataset records ``documents_per_source`` in its metrics (fetch, filter, dedup,
mix, decontaminate, and any third-party step that does the same); this job reads the earlier jobs' records,
never their datasets, and reports the ``## Curation`` section: a table and a figure with one column per step
(the last one is the curated corpus), the documents each filter rule dropped, the duplicates and the
documents holding evaluation text.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any, ClassVar

from olmo_core.artifacts import JobRecord
from olmo_core.errors import ConfigError
from olmo_core.io import local_directory
from olmo_core.jobs import Job, JobResult, Report, Slot, markdown_table, read_result

__all__ = ["CompositionJob"]

LABELS = {"data fetch": "fetched", "data filter": "filtered", "data dedup": "deduplicated", "data mix": "mixed",
          "data decontaminate": "decontaminated"}
"""The column of each first-party step; other steps' columns are named after their stage."""


class CompositionJob(Job):
    """Documents per source after each curation step: the curation section of the report."""

    command = "data composition"
    inputs: ClassVar[dict[str, Slot]] = {"records": Slot(JobRecord, many=True, help="the work directories of the "
                                                                                     "earlier data jobs, in order")}

    def run(self, config: Any, inputs: dict[str, Any], workdir: str) -> JobResult:
        """Collect the steps' counts; metrics: ``documents_per_step`` (column to documents per source),
        ``dropped_by`` (filter rule to documents), ``duplicates`` and ``contaminated_documents``."""
        columns: dict[str, dict[str, int]] = {}
        dropped_by: dict[str, int] = {}
        duplicates = contaminated = 0
        for record in inputs["records"]:
            result = read_result(record.path)
            if result is None:
                raise ConfigError(f"{record.path} holds no finished job's result.json")
            metrics = result.metrics
            command = metrics.get("command")
            if command == "data filter":
                dropped_by.update(metrics["dropped_by"])
            duplicates += metrics.get("duplicates", 0) if command == "data dedup" else 0
            contaminated += metrics.get("contaminated_documents", 0) if command == "data decontaminate" else 0
            if "documents_per_source" in metrics:
                stage = re.sub(r"^\d+-", "", posixpath.basename(record.path.rstrip("/")))
                label = LABELS.get(str(command), stage)
                counts = metrics["documents_per_source"]
                columns[stage if label in columns else label] = {s: counts[s] for s in sorted(counts) if counts[s]}
        if not columns:
            raise ConfigError("no earlier job reported documents per source (documents_per_source): run the data "
                              "jobs (fetch, filter, dedup, mix ...) before composition")
        if len(columns) > 1:
            columns["curated"] = columns.pop(list(columns)[-1])  # the last step's output is the curated corpus
        return JobResult(metrics={"documents_per_step": columns, "dropped_by": dropped_by, "duplicates": duplicates,
                                  "contaminated_documents": contaminated})

    def report(self, result: JobResult) -> Report:
        """The ``## Curation`` section: the table, the figure (a note instead without matplotlib) and what
        each step dropped."""
        from olmo_core import plots

        m = result.metrics
        columns: dict[str, dict[str, int]] = m["documents_per_step"]
        figures: list[str] = []
        if plots.available():
            with local_directory(result.workdir) as folder:  # a scratch folder, uploaded, when the workdir is remote
                plots.bar_plot(Path(folder) / "composition.png", columns, title="documents per source, step by step",
                               ylabel="documents")
            figures.append(posixpath.join(result.workdir, "composition.png"))
        shown = f"![documents per source and step]({figures[0]})" if figures else plots.missing_note("composition")
        sources = sorted({source for counts in columns.values() for source in counts})
        rows = ([s, *(f"{counts.get(s, 0):,}" for counts in columns.values())] for s in sources)
        lines = ["## Curation", "", shown, "", *markdown_table(["source", *columns], rows)]
        lines += ["", "Dropped by the filter rules:", ""]
        lines += [f"- {n:,}: `{rule}`" for rule, n in m["dropped_by"].items()]
        lines += [f"- {m['duplicates']:,} duplicates (exact and near), {m['contaminated_documents']:,} documents "
                  f"holding evaluation text"]
        return Report(markdown="\n".join(lines), figures=figures)
