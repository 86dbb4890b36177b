"""What a method's data preparation says when the data cannot fill the run: too few examples left for one
batch, a held-out set smaller than asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from olmo_core.chat_template import TuluTemplate
from olmo_core.errors import ConfigError

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
