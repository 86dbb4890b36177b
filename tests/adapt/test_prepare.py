"""What a method's data preparation says when the data cannot fill the run: too few examples left for one
batch, a held-out set smaller than asked."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from olmo_core.chat_template import TuluTemplate
from olmo_core.errors import ConfigError

from olmo_adapt.datasets import held_out_split, load_pairs
from olmo_adapt.dpo.method import DPO, DPOConfig
from olmo_adapt.examples import TOO_LONG
from olmo_adapt.method import AdaptRun
from olmo_adapt.sft.method import SFT, SFTConfig


def _run(template: TuluTemplate, tmp_path: Path) -> AdaptRun:
    return AdaptRun(template=template, checkpoint=tmp_path / "unused", run_dir=tmp_path / "run", seed=0)


def test_when_every_example_is_skipped_the_error_gives_the_tally_and_the_keys(template: TuluTemplate,
                                                                              tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        SFT(SFTConfig(max_length=8)).prepare(_run(template, tmp_path))
    assert str(raised.value) == (
        "0 training conversations are fewer than one batch of method.batch_size=16; all 999 were skipped (999 "
        "longer than method.max_length=8): raise method.max_length, or set method.overlong=truncate")


def test_a_held_out_set_shrunk_by_skipped_examples_is_warned_about(template: TuluTemplate, tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="olmo_adapt.method"):
        prepared = SFT(SFTConfig()).prepare(_run(template, tmp_path))
    assert prepared.summary["held_out_examples"] == 35 and prepared.summary["train_examples"] == 671
    assert prepared.skips.as_dict() == {"kept": 706, "skipped": {TOO_LONG: 293}}
    assert [r.getMessage() for r in caplog.records] == [
        "only 35 of method.eval_examples=49 held-out conversations are evaluated: 14 were skipped (14 longer than "
        "method.max_length=256)"]


def test_an_empty_held_out_set_is_warned_about(tmp_path: Path, template: TuluTemplate,
                                               caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{i}", "prompt": "Hi", "chosen": f"Hello {i}.",
                                        "rejected": "Hello 0." if i == 0 else f"Go away {i}."}) + "\n"
                            for i in range(6)))
    held = held_out_split(load_pairs(str(path)), 1)[1]
    assert [p["id"] for p in held] == ["p0"]  # its answers are the same: it is skipped
    with caplog.at_level(logging.WARNING, logger="olmo_adapt.method"):
        prepared = DPO(DPOConfig(data=str(path), eval_examples=1, batch_size=2)).prepare(_run(template, tmp_path))
    assert prepared.summary["held_out_pairs"] == 0 and prepared.callbacks == []
    assert [r.getMessage() for r in caplog.records] == [
        "only 0 of method.eval_examples=1 held-out pairs are evaluated: 1 were skipped (1 chosen equals rejected); "
        "no held-out evaluation will run"]


def _pairs(path: Path, count: int) -> str:
    path.write_text("".join(json.dumps({"id": f"p{i}", "prompt": "Hi", "chosen": f"Hello {i}.",
                                        "rejected": f"Go away {i}."}) + "\n" for i in range(count)))
    return str(path)


def test_the_dpo_reference_may_be_a_run_directory_like_checkpoint(template: TuluTemplate, tiny_checkpoint: Path,
                                                                   tmp_path: Path) -> None:
    run_dir = tmp_path / "sft"
    for step in ("step000002", "step000004"):
        shutil.copytree(tiny_checkpoint, run_dir / "checkpoints" / step)
    config = DPOConfig(data=_pairs(tmp_path / "pairs.jsonl", 4), eval_examples=0, batch_size=2, reference=str(run_dir))
    prepared = DPO(config).prepare(_run(template, tmp_path))
    assert prepared.summary["reference"] == str(run_dir / "checkpoints" / "step000004")
    config.reference = str(tmp_path / "nothing")
    with pytest.raises(ConfigError, match=rf"^method.reference={tmp_path / 'nothing'}: "):
        DPO(config).prepare(_run(template, tmp_path))


def test_the_quickstart_names_the_last_steps_of_the_default_runs(template: TuluTemplate, tmp_path: Path) -> None:
    import math

    docs = (Path(__file__).parents[2] / "docs" / "adaptation.md").read_text()
    steps = {}
    for name, method in (("sft", SFT(SFTConfig())), ("dpo", DPO(DPOConfig()))):
        prepared = method.prepare(_run(template, tmp_path))
        steps[name] = math.ceil(method.config.epochs * prepared.loader.steps_per_epoch)
    assert steps == {"sft": 41, "dpo": 64}
    assert "olmo adapt dpo checkpoint=runs/sft/checkpoints/step000041 " in docs
    assert "olmo chat checkpoint=runs/dpo/checkpoints/step000064 " in docs
