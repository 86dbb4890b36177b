"""olmo-train's ``energy`` extra: nvidia-ml-py's ``pynvml`` is installed with the workspace and, on an
NVIDIA GPU, the energy callback measures power through it instead of estimating it."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest


def test_the_workspace_installs_the_nvml_bindings() -> None:
    import pynvml

    assert importlib.metadata.version("nvidia-ml-py")
    assert callable(pynvml.nvmlDeviceGetPowerUsage)


def test_the_energy_callback_measures_through_nvml_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import pynvml
    import torch

    from olmo_train.callbacks.energy import EnergyCallback, EnergyConfig

    calls: list[str] = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    monkeypatch.setattr(pynvml, "nvmlInit", lambda: calls.append("init"))
    monkeypatch.setattr(pynvml, "nvmlShutdown", lambda: calls.append("shutdown"))
    monkeypatch.setattr(pynvml, "nvmlDeviceGetHandleByIndex", lambda index: ("gpu", index))
    monkeypatch.setattr(pynvml, "nvmlDeviceGetPowerUsage", lambda handle: 250_000)  # milliwatts

    class Trainer:
        world_size = 2

    callback = EnergyCallback(EnergyConfig(watts=30.0))
    trainer: Any = Trainer()
    callback.on_fit_start(trainer)
    metrics: dict[str, Any] = {"seconds": 3.6}
    callback.on_step_end(trainer, metrics)
    callback.close(trainer)
    assert metrics["energy_measured"] is True
    assert metrics["energy_wh"] == pytest.approx(250.0 * 3.6 * 2 / 3600)  # 250 W, not the 30 W estimate
    assert calls == ["init", "shutdown"]
