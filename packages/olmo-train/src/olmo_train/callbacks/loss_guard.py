"""``loss_guard``: catch a NaN or infinite loss, and loss spikes, before they reach the weights."""

from __future__ import annotations

import logging
import math
import statistics
from collections import deque
from dataclasses import dataclass
from typing import Any

from olmo_core.callbacks import Callback, SkipStep, TrainerView
from olmo_core.config import positive
from olmo_core.errors import ConfigError, OlmoError

__all__ = ["LossGuard", "LossGuardConfig", "LossSpike", "NonFiniteLoss"]

log = logging.getLogger(__name__)


class NonFiniteLoss(OlmoError):
    """The loss became NaN or infinite."""


class LossSpike(OlmoError):
    """The loss jumped far above its recent values."""


@dataclass(kw_only=True)
class LossGuardConfig:
    """Options of the loss guard."""

    on_nan: str = "stop"
    """A NaN or infinite loss: ``stop`` the run with a diagnosis, or ``skip`` the step's update."""
    spike_sigmas: float | None = positive(None)
    """A loss more than this many standard deviations above the mean of the last ``spike_window`` steps is a
    spike (``null``: spikes are not checked)."""
    spike_window: int = positive(128)
    """Steps of recent losses a spike is judged against (checking starts once the window is half full)."""
    on_spike: str = "skip"
    """A spike: ``stop``, ``skip`` the update, or ``warn`` and apply it."""


class LossGuard(Callback):
    """Checks each step's loss before the optimizer steps."""

    order = 0

    def __init__(self, config: LossGuardConfig) -> None:
        for key, value, allowed in (("on_nan", config.on_nan, ("stop", "skip")),
                                    ("on_spike", config.on_spike, ("stop", "skip", "warn"))):
            if value not in allowed:
                raise ConfigError(f"callbacks.loss_guard.{key} must be one of {', '.join(allowed)}, not {value!r}")
        self.config = config
        self.recent: deque[float] = deque(maxlen=config.spike_window)
        self.skipped: list[int] = []

    def check_loss(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        c = self.config
        loss, step = metrics["loss"], metrics["step"]
        if not math.isfinite(loss):
            if c.on_nan == "stop":
                raise NonFiniteLoss(f"the loss is {loss} at step {step} (learning rate {metrics['lr']:.3g}): lower the learning rate, enable z_loss "
                                    f"or grad_clip, or resume with callbacks.loss_guard.on_nan=skip; the last "
                                    f"good checkpoint is in {trainer.run_dir / 'checkpoints'}")
            self.skipped.append(step)
            raise SkipStep(f"non-finite loss {loss}")
        if c.spike_sigmas is not None and len(self.recent) >= max(c.spike_window // 2, 2):
            mean, std = statistics.fmean(self.recent), statistics.pstdev(self.recent)
            if loss > mean + c.spike_sigmas * std:
                what = (f"loss spike at step {step}: {loss:.4f} is more than {c.spike_sigmas:g} standard "
                        f"deviations above the mean {mean:.4f} (std {std:.4f}) of the last {len(self.recent)} steps")
                if c.on_spike == "stop":
                    raise LossSpike(what + "; the last good checkpoint is in " + str(trainer.run_dir / "checkpoints"))
                log.warning(what + ("; update skipped" if c.on_spike == "skip" else ""))
                if c.on_spike == "skip":
                    self.skipped.append(step)
                    raise SkipStep(what)
        self.recent.append(loss)

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        metrics["skipped"] = bool(self.skipped) and self.skipped[-1] == metrics["step"]

    def state_dict(self) -> dict[str, Any]:
        return {"recent": list(self.recent), "skipped": self.skipped}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.recent.extend(state.get("recent", []))
        self.skipped = list(state.get("skipped", []))
