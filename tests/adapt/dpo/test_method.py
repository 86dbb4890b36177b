"""DPO on the trainer with the built-in pairs: held-out preferences improve; the reference pass is cached."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pytest

from olmo_core.plugins import get_host

from olmo_adapt.dpo.method import DPO, DPOConfig
from olmo_adapt.runner import run_method

pytestmark = pytest.mark.slow


def test_dpo_raises_held_out_reward_accuracy_above_chance(tiny_checkpoint: Path, tmp_path: Path) -> None:
    host = get_host()
    callbacks = {"metrics": host.registry("callbacks").resolve("metrics")[1]}
    _, backend = host.registry("train_backends").resolve("single")
    config = DPOConfig(max_length=64, eval_examples=60, max_examples=96, lr=3e-3, max_steps=12, batch_size=8,
                       micro_batch_size=8, reference_cache=str(tmp_path / "cache"))  # one epoch of 96 pairs
    result = run_method(DPO(config), checkpoint=tiny_checkpoint, run_dir=tmp_path / "dpo", backend=backend,
                        callbacks=callbacks)
    run = tmp_path / "dpo"
    data = json.loads((run / "data.json").read_text())
    assert data["kept"] == 96 + 60 and data["held_out_pairs"] == 60 and data["reference_cache_hit"] is False
    before = json.loads((run / "eval_before.json").read_text())
    assert before["loss"] == pytest.approx(math.log(2), abs=1e-6) and before["rewards/accuracies"] == 0.0
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert {"rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins"} <= rows[0].keys()
    after = rows[-1]
    print({k: round(v, 4) for k, v in after.items() if k.startswith("eval/")})
    assert after["eval/rewards/accuracies"] > 0.5
    assert after["eval/loss"] < math.log(2) and after["eval/rewards/margins"] > 0
    assert result.checkpoint.name == "step000012"

    again = run_method(DPO(dataclasses.replace(config, max_steps=1)), checkpoint=tiny_checkpoint, run_dir=tmp_path / "dpo-again", backend=backend,
                       callbacks=callbacks)
    assert again.prepared.summary["reference_cache_hit"] is True
