from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


from tests.train.conftest import config, make_trainer


def test_tensorboard_holds_the_metrics_of_every_step(tokens: Path, tmp_path: Path) -> None:
    make_trainer(config(tokens, tmp_path, "tb", max_steps=3)).fit()
    events = EventAccumulator(str(tmp_path / "tb" / "tensorboard"))
    events.Reload()
    rows = [json.loads(line) for line in (tmp_path / "tb" / "metrics.jsonl").read_text().splitlines()]
    for key in ("loss", "lr", "grad_norm", "tokens_per_second", "energy_wh"):
        scalars = events.Scalars(key)
        assert [s.step for s in scalars] == [1, 2, 3]
        assert [s.value for s in scalars] == [float(np.float32(r[key])) for r in rows]
    assert sorted(p.name for p in (tmp_path / "tb" / "plots").iterdir()) == ["loss.png", "lr.png", "throughput.png"]
