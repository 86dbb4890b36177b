"""A flipped byte in the cached DPO reference log-probs is detected and the reference is computed again, so the
DPO run equals the one with an intact cache (it used to change the model silently: first loss 0.69 -> 1.33)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from olmo_adapt.datasets import load_pairs
from olmo_adapt.dpo.data import tokenize_pairs
from olmo_adapt.dpo.reference import cached_reference_logps
from olmo_adapt.examples import Skips
from olmo_core.chat_template import TuluTemplate
from tests.adapt.conftest import _one_thread, template, tiny_checkpoint  # noqa: F401 (fixtures reused)
from tests.reliability.conftest import flip_byte


def flip_first_value(path: Path) -> None:
    """Flip one exponent bit of the first fp32 value of a one-tensor safetensors file (the value x4 or /4)."""
    header = int.from_bytes(path.read_bytes()[:8], "little")
    flip_byte(path, 8 + header + 3)  # the sign and exponent byte of the first little-endian float


def test_flipped_byte_in_reference_logps_is_detected_and_recomputed(tiny_checkpoint: Path, tmp_path: Path,  # noqa: F811
                                                                     template: TuluTemplate, caplog: Any) -> None:  # noqa: F811
    pairs = tokenize_pairs(load_pairs("dpo_en_demo")[:4], template, max_length=48, overlong="truncate", skips=Skips())
    cpu = torch.device("cpu")
    table, path, hit = cached_reference_logps(tiny_checkpoint, pairs, cache_dir=tmp_path, rows=2, pad_id=1, device=cpu)
    assert not hit
    flip_first_value(path)
    caplog.clear()
    again, _, hit = cached_reference_logps(tiny_checkpoint, pairs, cache_dir=tmp_path, rows=2, pad_id=1, device=cpu)
    assert f"cache entry {path} has sha256" in caplog.text
    assert not hit and torch.equal(again, table)
    third, _, hit = cached_reference_logps(tiny_checkpoint, pairs, cache_dir=tmp_path, rows=2, pad_id=1, device=cpu)
    assert hit and torch.equal(third, table)  # the recomputed table was written back, verified


@pytest.mark.slow
def test_dpo_run_with_a_corrupted_reference_cache_equals_the_intact_run(tiny_checkpoint: Path,  # noqa: F811
                                                                         tmp_path: Path) -> None:
    from olmo_core.plugins import get_host

    from olmo_adapt.dpo.method import DPO, DPOConfig
    from olmo_adapt.runner import run_method

    host = get_host()
    callbacks = {"metrics": host.registry("callbacks").resolve("metrics")[1]}
    _, backend = host.registry("train_backends").resolve("single")
    store = tmp_path / "cache"
    config = DPOConfig(max_length=48, eval_examples=0, max_examples=8, lr=3e-3, max_steps=2, batch_size=4,
                       micro_batch_size=4, reference_cache=str(store))

    def metrics(name: str) -> list[dict[str, Any]]:
        run_method(DPO(config), checkpoint=tiny_checkpoint, run_dir=tmp_path / name, backend=backend,
                   callbacks=callbacks)
        rows = [json.loads(line) for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]

    intact = metrics("intact")
    assert intact[0]["loss"] == pytest.approx(0.6931, abs=1e-4)
    [cached] = [p for p in store.iterdir() if p.suffix == ".safetensors"]
    flip_first_value(cached)
    assert metrics("corrupted") == intact
    assert json.loads((tmp_path / "corrupted" / "data.json").read_text())["reference_cache_hit"] is False
