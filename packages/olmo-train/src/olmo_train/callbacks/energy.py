"""``energy``: energy and CO2 of each step, measured through NVML where present, estimated otherwise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from olmo_core.callbacks import Callback, TrainerView
from olmo_core.config import non_negative

from olmo_train.accounting import EnergyMeter

__all__ = ["EnergyCallback", "EnergyConfig"]


@dataclass(kw_only=True)
class EnergyConfig:
    """Options of the energy callback."""

    watts: float = non_negative(30.0)
    """Power drawn per process while training, for the estimate when it cannot be measured."""
    carbon_intensity: float = non_negative(0.4)
    """Kilograms of CO2 per kWh of the electricity used."""


class EnergyCallback(Callback):
    """Adds ``energy_wh`` and ``co2_g`` (all processes) and ``energy_measured`` to each step's metrics."""

    order = 10

    def __init__(self, config: EnergyConfig) -> None:
        self.config = config
        self.meter: EnergyMeter | None = None

    def on_fit_start(self, trainer: TrainerView) -> None:
        self.meter = EnergyMeter.create(self.config.watts)

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        assert self.meter is not None
        joules = self.meter.joules(metrics["seconds"]) * trainer.world_size
        metrics["energy_wh"] = joules / 3600.0
        metrics["co2_g"] = joules / 3.6e6 * self.config.carbon_intensity * 1000.0
        metrics["energy_measured"] = self.meter.measured

    def close(self, trainer: TrainerView) -> None:
        if self.meter is not None and self.meter.measured:
            try:
                import pynvml

                pynvml.nvmlShutdown()  # balances the meter's nvmlInit
            except Exception:  # NVML already gone: nothing to release
                pass
        self.meter = None
