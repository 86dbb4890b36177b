from __future__ import annotations

import pytest

from olmo_core.optim.scheduler import ConstantConfig, CosineWithWarmupConfig, LinearWithWarmupConfig, Schedule


@pytest.mark.parametrize(("step", "expected"), [
    (0, 0.1),           # warmup starts at 10% of the peak
    (5, 0.55),          # 0.1 + 0.9 * 5/10
    (10, 1.0),          # peak at the end of warmup
    (85, 0.231801948),  # progress 0.75: 0.1 + 0.45 * (1 + cos(3pi/4)) = 0.1 + 0.45 * 0.2928932188
    (60, 0.55),         # halfway through decay: (1 + cos(pi/2)) / 2 = 0.5
    (110, 0.1),         # decayed to alpha_f
    (500, 0.1),
])
def test_cosine_with_warmup(step: int, expected: float) -> None:
    schedule = Schedule(CosineWithWarmupConfig(warmup_steps=10, alpha_f=0.1), shape="cosine")
    assert schedule.lr(step, 110, 1.0) == pytest.approx(expected, abs=1e-9)


def test_cosine_quarter_point_by_hand() -> None:
    # progress 0.25: cos(pi/4) = 0.70710678, so 0.1 + 0.9 * 1.70710678 / 2 = 0.868198052
    schedule = Schedule(CosineWithWarmupConfig(warmup_steps=10, alpha_f=0.1), shape="cosine")
    assert schedule.lr(35, 110, 1.0) == pytest.approx(0.868198052, abs=1e-9)


@pytest.mark.parametrize(("step", "expected"), [(10, 3e-4), (50, 1.65e-4), (85, 4.6875e-5), (90, 3e-5),
                                                (100, 1.5e-5), (110, 0.0)])
def test_linear_with_final_anneal(step: int, expected: float) -> None:
    # peak 3e-4, warmup 10, decay over steps 10..90 to 3e-5 (step 50: halfway, 3e-4 - 2.7e-4/2; step 85:
    # 3e-4 - 2.7e-4 * 75/80), then a linear anneal to 0 over the last 20 steps (step 100: 3e-5 / 2)
    schedule = Schedule(LinearWithWarmupConfig(warmup_steps=10, alpha_f=0.1, anneal_steps=20), shape="linear")
    assert schedule.lr(step, 110, 3e-4) == pytest.approx(expected, rel=1e-9, abs=1e-15)


def test_constant_and_set_lr() -> None:
    schedule = Schedule(ConstantConfig(warmup_steps=4, warmup_start_fraction=0.0), shape="constant")
    assert [schedule.lr(s, 100, 2.0) for s in (0, 1, 4, 99)] == [0.0, 0.5, 2.0, 2.0]

    class FakeOptimizer:
        param_groups = [{"lr": 9.0, "initial_lr": 2.0}, {"lr": 9.0, "initial_lr": 4.0}]

    optimizer = FakeOptimizer()
    assert schedule.set_lr(optimizer, 2, 100) == 1.0
    assert [g["lr"] for g in optimizer.param_groups] == [1.0, 2.0]
