"""``tensorboard``: every numeric metric as a TensorBoard scalar under ``<run>/tensorboard/``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from olmo_core.callbacks import Callback, TrainerView
from olmo_core.errors import MissingDependencyError

__all__ = ["TensorBoardCallback", "TensorBoardConfig"]


@dataclass(kw_only=True)
class TensorBoardConfig:
    """Options of the TensorBoard callback."""

    directory: str = "tensorboard"
    """Event-file directory inside the run directory (``tensorboard --logdir runs/`` shows every run)."""


class TensorBoardCallback(Callback):
    """Writes scalars through ``torch.utils.tensorboard`` (needs ``olmo-train[tensorboard]``)."""

    order = 100

    def __init__(self, config: TensorBoardConfig) -> None:
        self.config = config
        self.writer: Any = None

    def on_fit_start(self, trainer: TrainerView) -> None:
        if not trainer.is_main:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:
            raise MissingDependencyError("the tensorboard callback", distribution="olmo-train",
                                         extra="tensorboard") from e
        self.writer = SummaryWriter(str(trainer.run_dir / self.config.directory), purge_step=trainer.step + 1)

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        if self.writer is None:
            return
        for key, value in metrics.items():
            if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and math.isfinite(value):
                self.writer.add_scalar(key, value, metrics["step"])
        self.writer.flush()

    def close(self, trainer: TrainerView) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
