"""The reference cache is keyed by the reference's weights and by the tokenized pairs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from olmo_core.model_io import load_model

from olmo_adapt.datasets import load_pairs
from olmo_adapt.dpo.data import tokenize_pairs
from olmo_adapt.dpo.reference import cache_key, cached_reference_logps, reference_logps
from olmo_adapt.examples import Skips
from olmo_core.chat_template import TuluTemplate
from tests.adapt.conftest import make_checkpoint


def test_cache_is_reused_and_invalidated_by_other_data_or_reference(tiny_checkpoint: Path, tmp_path: Path,
                                                                     template: TuluTemplate) -> None:
    records = load_pairs("dpo_en_demo")[:5]
    pairs = tokenize_pairs(records, template, max_length=48, overlong="truncate", skips=Skips())
    other_data = tokenize_pairs(records, template, max_length=40, overlong="truncate", skips=Skips())
    other_ref = make_checkpoint(tmp_path / "other", seed=5)
    key = cache_key(tiny_checkpoint, pairs)
    assert key == cache_key(tiny_checkpoint, list(pairs))
    assert len({key, cache_key(tiny_checkpoint, other_data), cache_key(other_ref, pairs),
                cache_key(tiny_checkpoint, pairs[:-1])}) == 4
    cpu = torch.device("cpu")
    table, path, hit = cached_reference_logps(tiny_checkpoint, pairs, cache_dir=tmp_path, rows=2, pad_id=1, device=cpu)
    assert not hit and path.name == f"{key}.safetensors"
    again, _, hit = cached_reference_logps(tiny_checkpoint, pairs, cache_dir=tmp_path, rows=3, pad_id=1, device=cpu)
    assert hit and torch.equal(table, again)
    direct = reference_logps(load_model(tiny_checkpoint).model, pairs, rows=5, pad_id=1, device=cpu)
    torch.testing.assert_close(table, direct, atol=1e-4, rtol=1e-6)
    assert bool((table < 0).all())
    _, _, hit = cached_reference_logps(other_ref, pairs, cache_dir=tmp_path, rows=2, pad_id=1, device=cpu)
    assert not hit


def test_the_reference_pass_reports_its_progress_in_pairs(tiny_checkpoint: Path, template: TuluTemplate,
                                                          caplog: pytest.LogCaptureFixture,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import olmo_core.progress

    pairs = tokenize_pairs(load_pairs("dpo_en_demo")[:5], template, max_length=48, overlong="truncate", skips=Skips())
    caplog.set_level("INFO", logger="olmo_core.progress")
    monkeypatch.setattr(olmo_core.progress.Progress.__init__, "__kwdefaults__",
                        {**olmo_core.progress.Progress.__init__.__kwdefaults__, "log_every": 0.0})
    reference_logps(load_model(tiny_checkpoint).model, pairs, rows=2, pad_id=1, device=torch.device("cpu"))
    counts = [r.getMessage().split(" (")[0] for r in caplog.records]
    assert counts == [f"reference log-probabilities: {n} of 5 pairs" for n in (2, 4, 5)]  # off a terminal, logged
