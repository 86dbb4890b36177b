"""``checkpoint``: save every N steps and at the end; keep the last K plus permanent ones."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_core.callbacks import Callback, TrainerView
from olmo_core.checkpoint import checkpoint_dirs
from olmo_core.config import positive

__all__ = ["CheckpointCallback", "CheckpointConfig"]


@dataclass(kw_only=True)
class CheckpointConfig:
    """Options of the checkpoint callback."""

    interval: int = positive(50)
    """Save every this many steps (and at the last step)."""
    keep_last: int = positive(2)
    """Checkpoints kept besides permanent ones (at least 1: the newest is always kept)."""
    permanent_interval: int | None = positive(None)
    """Checkpoints at multiples of this step are never removed."""


class CheckpointCallback(Callback):
    """Saves the trainer's state on schedule and prunes old checkpoints once the new one is complete."""

    order = 200  # after the metrics of the step are written, so a resumed run never lacks a line

    def __init__(self, config: CheckpointConfig) -> None:
        self.config = config

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        if trainer.step % self.config.interval == 0 or trainer.step == trainer.max_steps:
            trainer.save_checkpoint()

    def on_checkpoint(self, trainer: TrainerView, path: Path) -> None:
        if not trainer.is_main:
            return
        prunable = [p for p in checkpoint_dirs(path.parent) if not self._permanent(p) and p != path]
        for old in prunable[: max(len(prunable) - (self.config.keep_last - 1), 0)]:
            shutil.rmtree(old)

    def _permanent(self, path: Path) -> bool:
        interval = self.config.permanent_interval
        return bool(interval) and int(path.name.removeprefix("step")) % interval == 0  # type: ignore[operator]
