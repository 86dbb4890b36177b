"""The ``evaluate`` stage evaluates the checkpoints of the stages before it side by side and writes a report section."""

from __future__ import annotations

from pathlib import Path

import pytest

from olmo_core.errors import ConfigError
from olmo_core.pipeline.stage import StageContext
from olmo_core.plugins import get_host


def test_evaluate_stage_reports_accuracy_beside_chance_and_bits_per_byte(checkpoint: Path, tmp_path: Path) -> None:
    registry = get_host().registry("stages")
    _, config = registry.resolve("evaluate")
    config.tasks, config.limit, config.sources, config.max_documents = ["copa", "sciq"], 4, ["c4"], 2
    stage = registry.build(config)
    stage_dir = tmp_path / "stages" / "05-evaluate"
    stage_dir.mkdir(parents=True)
    context = StageContext(run_dir=tmp_path, stage_dir=stage_dir, name="evaluate", seed=0,
                           results={"pretrain": {"checkpoint": str(checkpoint)}, "sft": {"dataset": "x"},
                                    "dpo": {"checkpoint": str(checkpoint)}})  # the same model twice
    result = stage.run(context)
    assert [e["model"] for e in result["evaluated"]] == ["base", "DPO"]
    assert set(result["accuracy"]) == {"base", "DPO"} and set(result["accuracy"]["base"]) == {"copa", "sciq"}
    assert result["accuracy"]["base"] == result["accuracy"]["DPO"]
    assert result["chance"] == {"copa": 0.5, "sciq": 0.25}
    assert result["bits_per_byte"]["base"]["c4"] == result["bits_per_byte"]["DPO"]["c4"] > 0
    report = result["report"]
    assert "| task | metric | chance | base | DPO |" in report and "| copa | acc_raw | 0.500 |" in report
    assert "| c4 |" in report and "![accuracy](stages/05-evaluate/accuracy.png)" in report
    assert "![bits_per_byte](stages/05-evaluate/bits_per_byte.png)" in report
    assert (stage_dir / "accuracy.png").is_file() and (stage_dir / "pretrain" / "downstream" / "samples.jsonl").is_file()
    assert (stage_dir / "dpo" / "perplexity" / "results.md").is_file()

    context.results = {"fetch": {}}
    with pytest.raises(ConfigError, match="evaluates the checkpoints of pretrain, sft, dpo"):
        stage.run(context)
