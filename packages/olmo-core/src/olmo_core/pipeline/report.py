"""The ``report`` job: ``report.md`` in the run directory, assembled from what every earlier job reported.

Each job's ``report.md`` (its section; figures linked relative to its own directory) and ``result.json``
(its metrics) come in as :class:`~olmo_core.artifacts.JobRecord` inputs; the report adds a table of the
stages, the command that reproduces the run and the plugins and versions it ran with.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from typing import Any, ClassVar

from olmo_core.artifacts import JobRecord
from olmo_core.io import exists, read_text
from olmo_core.jobs import Job, JobResult, Report, Slot, markdown_table

__all__ = ["ReportConfig", "ReportJob", "summarize"]


@dataclass(kw_only=True)
class ReportConfig:
    """Options of the report job."""

    title: str = "olmo run"
    """The report's heading."""


ACCOUNTING = ("files", "files_done", "shard", "complete", "records", "written", "dropped", "quarantined")
"""Bookkeeping keys of data jobs: the stage table shows them as one ``N in: ...`` phrase."""


def summarize(result: dict[str, Any], limit: int = 4) -> str:
    """A short line of a job's scalar metrics (numbers and short strings), for the stage table.

    A data job's record accounting comes first as ``N in: W written, D dropped, Q quarantined``; then up to ``limit``
    of its own metrics, each named by its key (``final_loss``: ``final loss``) or, where the job's ``labels`` metric
    names it, by that label (``mean_loss_last_10``: ``mean loss, last 8 steps`` for a run of 8 steps).
    """
    labels = result.get("labels") if isinstance(result.get("labels"), dict) else {}
    shown = []
    for key, value in result.items():
        if value is None or key in ("command", *ACCOUNTING) or isinstance(value, (dict, list)) \
                or (isinstance(value, str) and ("/" in value or len(value) > 40)):
            continue
        text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) \
            else f"{value:.4g}" if isinstance(value, float) else value
        shown.append(f"{labels.get(key) or key.replace('_', ' ')}: {text}")
    head = []
    if "records" in result:
        counts = ", ".join(f"{result.get(key, 0):,} {key}" for key in ("written", "dropped", "quarantined"))
        head = [f"{result['records']:,} in: {counts}" + ("" if result.get("complete", True) else " (incomplete)")]
    return "; ".join(head + shown[:limit]) or "-"


def _section(record: JobRecord, base: str) -> str:
    """A job's own report, its figure links rewritten relative to ``base``."""
    path = posixpath.join(record.path, "report.md")
    if not exists(path):
        return ""
    relative = posixpath.relpath(record.path, base)
    return re.sub(r"(!\[[^\]]*\]\()(?![a-z]+://|/)([^)]+)\)",
                  lambda m: f"{m.group(1)}{posixpath.normpath(posixpath.join(relative, m.group(2)))})",
                  read_text(path)).strip()


class ReportJob(Job):
    """Write ``report.md``: every job's section, what ran and what it measured, and how to reproduce it."""

    inputs: ClassVar[dict[str, Slot]] = {"records": Slot(JobRecord, many=True, help="the jobs to report on")}
    run_level = True

    def run(self, config: ReportConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        records: list[JobRecord] = inputs["records"]
        metrics = {re.sub(r"^\d+-", "", posixpath.basename(r.path.rstrip("/"))):  # the stage's name
                   json.loads(read_text(posixpath.join(r.path, "result.json")))["metrics"] for r in records}
        return JobResult(metrics={"title": config.title, "stages": metrics,
                                  "sections": [_section(r, workdir) for r in records]})

    def report(self, result: JobResult) -> Report:
        run_dir = result.workdir
        command_file, plugins_file = posixpath.join(run_dir, "command.txt"), posixpath.join(run_dir, "plugins.json")
        command = read_text(command_file).strip() if exists(command_file) else ""
        plugins = json.loads(read_text(plugins_file))["plugins"] if exists(plugins_file) else []
        lines = [f"# {result.metrics['title']}: {posixpath.basename(run_dir.rstrip('/'))}", ""]
        lines += [section + "\n" for section in result.metrics["sections"] if section]
        stages = [(stage, summarize(metrics)) for stage, metrics in result.metrics["stages"].items()]
        plugins = [(p["name"], p["distribution"] or p["source"], p["version"] or "-") for p in plugins]
        lines += ["## Stages", "", *markdown_table(["stage", "result"], stages), "", "## Reproduce", "", "```console",
                  command or "olmo pipeline", "```", "", "## Plugins", "",
                  *markdown_table(["plugin", "distribution", "version"], plugins)]
        return Report(markdown="\n".join(lines))
