from __future__ import annotations

import pytest

from olmo_core.nn.config import PRESETS
from olmo_train.accounting import EnergyMeter, flops_per_token


class Shell:
    def __init__(self, preset: str) -> None:
        self.config = PRESETS[preset]


def test_flops_per_token_of_olmo_1b() -> None:
    # 6 * (1,073,741,824 non-embedding + 2048 * 50304 LM head) + 12 * 16 layers * 2048 * 2048 tokens
    expected = 6 * (1_073_741_824 + 2048 * 50304) + 12 * 16 * 2048 * 2048
    assert flops_per_token(Shell("olmo1-1b"), 2048) == expected == pytest.approx(7.8e9, rel=0.01)


def test_a_model_without_olmo_config_has_no_flops() -> None:
    assert flops_per_token(object(), 128) is None


def test_estimated_energy() -> None:
    meter = EnergyMeter.create(watts=50.0)
    assert not meter.measured and meter.joules(3.6) == pytest.approx(180.0)
