"""The ``sft`` and ``dpo`` pipeline stages: sft from pretrain's checkpoint, dpo from sft's, each with a report."""

from __future__ import annotations

from pathlib import Path

import pytest

from olmo_core.pipeline.stage import StageContext
from olmo_core.plugins import get_host

from olmo_adapt.dpo.config import DPOConfig
from olmo_adapt.sft.config import SFTConfig
from olmo_adapt.stages import DPOStageConfig, SFTStageConfig

pytestmark = pytest.mark.slow


def test_sft_then_dpo_stages_chain_their_checkpoints_and_report(tiny_checkpoint: Path, tmp_path: Path) -> None:
    stages = get_host().registry("stages")
    results = {"pretrain": {"checkpoint": str(tiny_checkpoint)}}
    sft = stages.build({"_name_": "sft", **vars(SFTStageConfig(
        method=SFTConfig(max_length=96, max_steps=3, eval_examples=8, max_examples=12, batch_size=4,
                         micro_batch_size=4),
        save_interval=2))})
    context = StageContext(run_dir=tmp_path, stage_dir=tmp_path / "sft", name="sft", seed=0, results=results)
    out = sft.run(context)
    assert Path(out["checkpoint"]).name == "step000003" and out["steps"] == 3
    assert out["report"].startswith("## Instruction tuning (SFT)") and "| loss |" in out["report"]
    assert "](sft/train/plots/loss.png)" in out["report"] and (tmp_path / "sft/train/plots/loss.png").is_file()
    results["sft"] = out
    dpo = stages.build({"_name_": "dpo", **vars(DPOStageConfig(
        method=DPOConfig(max_length=64, max_steps=2, eval_examples=8, max_examples=8, batch_size=4, micro_batch_size=4,
                         reference_cache=str(tmp_path / "cache")), save_interval=2))})
    out = dpo.run(StageContext(run_dir=tmp_path, stage_dir=tmp_path / "dpo", name="dpo", seed=0, results=results))
    assert Path(out["checkpoint"]).parent.parent == tmp_path / "dpo" / "train" and out["steps"] == 2
    assert "rewards_accuracies" in out and "| rewards/accuracies | 0.0000 |" in out["report"]
    assert "](dpo/train/plots/rewards.png)" in out["report"]
    print(out["report"])
