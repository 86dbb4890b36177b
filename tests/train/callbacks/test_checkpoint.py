from __future__ import annotations

from pathlib import Path

import pytest

from olmo_core.errors import ConfigError

from tests.train.conftest import config, make_trainer


def steps(run: Path) -> list[int]:
    return sorted(int(p.name.removeprefix("step")) for p in (run / "checkpoints").glob("step*"))


def test_the_newest_checkpoints_and_permanent_ones_are_kept(tokens: Path, tmp_path: Path) -> None:
    make_trainer(config(tokens, tmp_path, "keep", max_steps=7, **{"callbacks.checkpoint.interval": 1,
                                                            "callbacks.checkpoint.keep_last": 2,
                                                            "callbacks.checkpoint.permanent_interval": 3})).fit()
    # permanent: 3 and 6; of the others (1, 2, 4, 5, 7) the last two stay
    assert steps(tmp_path / "keep") == [3, 5, 6, 7]


def test_keep_last_one_keeps_the_checkpoint_just_written(tokens: Path, tmp_path: Path) -> None:
    make_trainer(config(tokens, tmp_path, "one", max_steps=4, **{"callbacks.checkpoint.interval": 1,
                                                           "callbacks.checkpoint.keep_last": 1})).fit()
    assert steps(tmp_path / "one") == [4]


def test_keep_last_zero_is_refused(tokens: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"callbacks\.checkpoint\.keep_last=0 is out of range: it must be above 0"):
        make_trainer(config(tokens, tmp_path, "zero", **{"callbacks.checkpoint.keep_last": 0}))
