"""The ``report`` stage: ``report.md`` in the run directory, assembled from what every stage reports.

A stage contributes a section by returning ``report`` (markdown; figures it drew are linked relative to the
run directory) in its result; the report adds a table of the stages, the command that reproduces the run and
the plugins and versions it ran with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from olmo_core.io import write_text
from olmo_core.pipeline.stage import StageContext

__all__ = ["ReportConfig", "ReportStage", "summarize"]


@dataclass(kw_only=True)
class ReportConfig:
    """Options of the report stage."""

    title: str = "olmo run"
    """The report's heading."""


def summarize(result: dict[str, Any], limit: int = 4) -> str:
    """A short line of a stage's scalar results (numbers and short strings), for the stage table."""
    shown = []
    for key, value in result.items():
        if key == "report" or isinstance(value, (dict, list)):
            continue
        if isinstance(value, str) and ("/" in value or len(value) > 40):
            continue
        shown.append(f"{key.replace('_', ' ')}: {value:,}" if isinstance(value, int) else f"{key.replace('_', ' ')}: {value}")
    return "; ".join(shown[:limit]) or "-"


class ReportStage:
    """Write ``report.md``: every stage's section, what ran and for how long, and how to reproduce it."""

    always_run = True

    def __init__(self, config: ReportConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        run_dir = context.run_dir
        command = (run_dir / "command.txt").read_text().strip() if (run_dir / "command.txt").is_file() else ""
        plugins = json.loads((run_dir / "plugins.json").read_text())["plugins"] \
            if (run_dir / "plugins.json").is_file() else []
        lines = [f"# {self.config.title}: {run_dir.name}", ""]
        for result in context.results.values():
            if result.get("report"):
                lines += [str(result["report"]).rstrip(), ""]
        lines += ["## Stages", "", "| stage | result |", "|---|---|"]
        lines += [f"| {stage} | {summarize(result)} |" for stage, result in context.results.items()]
        lines += ["", "## Reproduce", "", "```console", command or "olmo pipeline", "```", "",
                  "## Plugins", "", "| plugin | distribution | version |", "|---|---|---|"]
        lines += [f"| {p['name']} | {p['distribution'] or p['source']} | {p['version'] or '-'} |" for p in plugins]
        report = run_dir / "report.md"
        write_text(str(report), "\n".join(lines) + "\n")
        return {"report_file": str(report)}
