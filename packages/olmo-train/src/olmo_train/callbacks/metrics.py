"""``metrics``: one JSON line per step in ``<run>/metrics.jsonl``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from olmo_core.callbacks import Callback, TrainerView

__all__ = ["MetricsCallback", "MetricsConfig", "read_metrics"]


@dataclass(kw_only=True)
class MetricsConfig:
    """Options of the metrics-file callback."""

    file: str = "metrics.jsonl"
    """File name inside the run directory."""


def read_metrics(path: Any) -> list[dict[str, Any]]:
    """The rows of a metrics file."""
    from pathlib import Path

    return [json.loads(line) for line in Path(path).read_text().splitlines() if line]


class MetricsCallback(Callback):
    """Appends each step's metrics; on resume, drops rows past the step the run resumes from."""

    order = 100

    def __init__(self, config: MetricsConfig) -> None:
        self.config = config

    def on_fit_start(self, trainer: TrainerView) -> None:
        self.path = trainer.run_dir / self.config.file
        if trainer.is_main and self.path.exists():
            rows = [r for r in read_metrics(self.path) if r["step"] <= trainer.step]
            self.path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        if trainer.is_main:
            with open(self.path, "a") as f:
                f.write(json.dumps(metrics) + "\n")
