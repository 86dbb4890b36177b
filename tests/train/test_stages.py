"""``olmo pipeline`` from raw text to a pretrained model, small."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def test_pipeline_pretrains_on_its_curated_tokens(tmp_path: Path, olmo_cli: Any) -> None:
    args = ("pipeline", "name=small", f"runs_dir={tmp_path}", "stages=[fetch,curate,tokenize,pretrain,report]",
            "stages.fetch.sources=[c4,wikipedia]", "stages.fetch.limits={c4: 60, wikipedia: 200}",
            "stages.pretrain.max_steps=3", "stages.pretrain.seq_len=64", "stages.pretrain.global_batch_size=512",
            "stages.pretrain.micro_batch_size=4", "stages.pretrain.save_interval=2")
    result = olmo_cli(*args)
    assert result.exit_code == 0, result.err
    run = tmp_path / "small"
    done = json.loads((run / "stages" / "03-pretrain" / "done.json").read_text())["result"]
    assert done["steps"] == 3 and done["tokens"] == 3 * 512
    assert Path(done["checkpoint"]).name == "step000003" and (Path(done["checkpoint"]) / "manifest.json").exists()
    metrics = (run / "stages" / "03-pretrain" / "train" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(m)["step"] for m in metrics] == [1, 2, 3]
    report = (run / "report.md").read_text()
    for heading in ("## Data", "## Curation", "## Tokens", "## Pretraining"):
        assert heading in report
    assert "stages/03-pretrain/train/plots/loss.png" in report

    (run / "stages" / "03-pretrain" / "done.json").unlink()  # as if killed after its last checkpoint
    again = olmo_cli(*args)
    assert again.exit_code == 0 and "resuming from" in again.out
