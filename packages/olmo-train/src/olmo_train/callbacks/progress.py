"""``progress``: a line per step (or every ``interval`` steps) with loss, learning rate and speed: a live line
on a terminal, logged on stderr otherwise; the job's ``log.txt`` keeps it either way."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Any

from olmo_core.callbacks import Callback, TrainerView
from olmo_core.config import positive
from olmo_core.logs import FILE_ONLY

__all__ = ["ProgressCallback", "ProgressConfig"]

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class ProgressConfig:
    """Options of the progress callback."""

    interval: int = positive(1)
    """Print every this many steps (and the last)."""


class ProgressCallback(Callback):
    """Shows each step's progress, loss, learning rate, tokens/s, MFU and time left, on a terminal as one live line.

    The line reads ``step n/N (p%) loss ... lr ... grad ... tok/s ... MFU ... ETA ...``; a step a callback skipped
    (``SkipStep``: no update, no gradient norm) reads ``skipped`` in place of ``grad ...``."""

    order = 150

    def __init__(self, config: ProgressConfig) -> None:
        self.config = config
        self.live = sys.stdout.isatty()
        self._open_line = False
        """Whether a live line is on the terminal without its newline."""

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        step = metrics["step"]
        if not trainer.is_main or (step % self.config.interval and step != trainer.max_steps):
            return
        left = trainer.max_steps - step
        eta = f" ETA {_duration(left * metrics['seconds'])}" if left else ""
        mfu = f" MFU {metrics['mfu']:.1%}" if metrics.get("mfu") is not None else ""
        speed = f" {metrics['tokens_per_second']:,.0f} tok/s" if "tokens_per_second" in metrics else ""
        extra = "".join(f" {k} {v:.4g}" for k, v in metrics.items() if k.startswith("eval/") and
                        isinstance(v, float))
        grad = "skipped" if metrics.get("skipped") else f"grad {metrics['grad_norm']:.3f}"
        line = (f"step {step}/{trainer.max_steps} ({100 * step / trainer.max_steps:.0f}%) loss {metrics['loss']:.4f} "
                f"lr {metrics['lr']:.3g} {grad}{speed}{mfu}{extra}{eta}")
        log.info(line, extra=FILE_ONLY if self.live else None)  # on a terminal, log.txt keeps what stdout shows
        if not self.live:
            return
        sys.stdout.write("\r\033[K" + line + ("\n" if not left else ""))
        sys.stdout.flush()
        self._open_line = bool(left)

    def close(self, trainer: TrainerView) -> None:
        if self._open_line:  # a run that stopped early: end the live line so that what follows starts afresh
            sys.stdout.write("\n")
            sys.stdout.flush()
            self._open_line = False


def _duration(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m" if hours else f"{m}m{s:02d}s"
