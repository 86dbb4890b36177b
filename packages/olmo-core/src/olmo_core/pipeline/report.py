"""The ``report`` stage: ``report.md`` in the run directory, summarizing every stage of the run."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from olmo_core.io import write_text
from olmo_core.pipeline.stage import StageContext

__all__ = ["ReportConfig", "ReportStage"]


@dataclass(kw_only=True)
class ReportConfig:
    """Options of the report stage."""

    title: str = "olmo run"
    """The report's heading."""


class ReportStage:
    """Write ``report.md``: what ran, how long it took, what each stage produced, and how to reproduce it."""

    def __init__(self, config: ReportConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        run_dir = context.run_dir
        command = (run_dir / "command.txt").read_text().strip() if (run_dir / "command.txt").is_file() else ""
        plugins = json.loads((run_dir / "plugins.json").read_text())["plugins"] \
            if (run_dir / "plugins.json").is_file() else []
        lines = [f"# {self.config.title}: {run_dir.name}", "", "## Stages", "", "| stage | result |", "|---|---|"]
        for stage, result in context.results.items():
            shown = ", ".join(f"{k}: {_short(v)}" for k, v in result.items()) or "-"
            lines.append(f"| {stage} | {shown} |")
        lines += ["", "## Reproduce", "", "```console", command or "olmo pipeline", "```", "",
                  "## Plugins", "", "| plugin | distribution | version |", "|---|---|---|"]
        lines += [f"| {p['name']} | {p['distribution'] or p['source']} | {p['version'] or '-'} |" for p in plugins]
        report = run_dir / "report.md"
        write_text(str(report), "\n".join(lines) + "\n")
        return {"report": str(report)}


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."
