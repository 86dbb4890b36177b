"""The ``evaluate`` stage evaluates the newest checkpoint of the stages before it and writes a report section."""

from __future__ import annotations

from pathlib import Path

import pytest

from olmo_core.errors import ConfigError
from olmo_core.pipeline.stage import StageContext
from olmo_core.plugins import get_host


def test_evaluate_stage_reports_accuracy_beside_chance_and_bits_per_byte(checkpoint: Path, tmp_path: Path) -> None:
    registry = get_host().registry("stages")
    _, config = registry.resolve("evaluate")
    config.tasks, config.limit, config.sets, config.max_documents = ["copa", "sciq"], 4, {"c4": None}, 2
    stage = registry.build(config)
    stage_dir = tmp_path / "stages" / "05-evaluate"
    stage_dir.mkdir(parents=True)
    context = StageContext(run_dir=tmp_path, stage_dir=stage_dir, name="evaluate", seed=0,
                           results={"pretrain": {"checkpoint": str(checkpoint)}, "sft": {"dataset": "x"}})
    result = stage.run(context)
    assert result["evaluated_stage"] == "pretrain" and set(result["accuracy"]) == {"copa", "sciq"}
    assert result["chance"] == {"copa": 0.5, "sciq": 0.25} and result["bits_per_byte"] > 0
    assert "| copa | acc_raw |" in result["report"] and "| c4 |" in result["report"]
    assert "![accuracy](stages/05-evaluate/accuracy.png)" in result["report"]
    assert (stage_dir / "accuracy.png").is_file() and (stage_dir / "downstream" / "samples.jsonl").is_file()
    assert (stage_dir / "perplexity" / "results.md").is_file()

    context.results = {"fetch": {}}
    with pytest.raises(ConfigError, match="evaluates the checkpoint of one of dpo, sft, pretrain"):
        stage.run(context)
