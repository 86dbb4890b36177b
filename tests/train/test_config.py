"""``olmo train`` and the pipeline's ``pretrain`` stage refuse sizes, counts and steps out of range in one line
naming the key, before anything runs (issue 22: micro_batch_size=0 and seq_len=0 were ZeroDivisionErrors;
max_steps=-1 and scheduler.warmup_steps=-1 ran)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

BAD = [("micro_batch_size=0", "above 0"), ("seq_len=0", "above 0"), ("max_steps=-1", "above 0"),
       ("scheduler.warmup_steps=-1", "0 or more")]


@pytest.mark.parametrize(("override", "bound"), BAD)
def test_olmo_train_refuses_it_before_anything_runs(olmo_cli: Any, tmp_path: Path, override: str,
                                                    bound: str) -> None:
    result = olmo_cli("train", f"data=[{tmp_path / 'tokens'}]", f"output={tmp_path / 'run'}", override)
    assert result.exit_code == 2
    assert f"{override} is out of range: it must be {bound}" in result.err
    assert len(result.err.strip().splitlines()) == 1 and not (tmp_path / "run").exists()


@pytest.mark.parametrize(("override", "bound"), BAD)
def test_the_pipeline_names_the_stage_key(olmo_cli: Any, tmp_path: Path, override: str, bound: str) -> None:
    result = olmo_cli("pipeline", "name=p", f"runs_dir={tmp_path}", f"stages.pretrain.{override}")
    assert result.exit_code == 2
    assert f"stages.pretrain.{override} is out of range: it must be {bound}" in result.err
    assert not (tmp_path / "p").exists()
