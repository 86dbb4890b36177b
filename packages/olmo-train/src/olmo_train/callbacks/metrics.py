"""``metrics``: one JSON line per step in ``<run>/metrics.jsonl``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO, Any

from olmo_core.callbacks import Callback, TrainerView

__all__ = ["MetricsCallback", "MetricsConfig", "read_metrics"]


@dataclass(kw_only=True)
class MetricsConfig:
    """Options of the metrics-file callback."""

    file: str = "metrics.jsonl"
    """File name inside the run directory."""


def read_metrics(path: Any) -> list[dict[str, Any]]:
    """The rows of a metrics file (none when there is no file)."""
    from pathlib import Path

    return [json.loads(line) for line in Path(path).read_text().splitlines() if line] if Path(path).is_file() else []


class MetricsCallback(Callback):
    """Appends each step's metrics; on resume, drops rows past the step the run resumes from."""

    order = 100

    def __init__(self, config: MetricsConfig) -> None:
        self.config = config
        self.file: IO[str] | None = None

    def on_fit_start(self, trainer: TrainerView) -> None:
        self.path = trainer.run_dir / self.config.file
        if not trainer.is_main:
            return
        rows = [r for r in read_metrics(self.path) if r["step"] <= trainer.step]
        self.path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        self.file = open(self.path, "a")  # closed in close()

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        if self.file is not None:
            self.file.write(json.dumps(metrics) + "\n")
            self.file.flush()  # each line is on disk before the step's checkpoint: a resumed run lacks none

    def close(self, trainer: TrainerView) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
