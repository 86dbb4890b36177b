"""``olmo train`` as a new user walks it: wrong inputs explained, a finished run kept usable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmo_core.artifacts import Checkpoint

from tests.train.conftest import SMALL_MODEL


def test_a_dataset_given_as_data_says_to_tokenize_it(olmo_cli: Any, tokens: Path, tmp_path: Path) -> None:
    ds = tokens.parent / "ds"
    result = olmo_cli("train", f"data=[{ds}]", f"output={tmp_path / 'run'}")
    assert (result.exit_code, result.err) == (2, f"error: input 'data' of job 'pretrain': {ds} is a dataset "
                                                 f"(documents/), not token arrays: run `olmo data tokenize "
                                                 f"input={ds} output=<dir>` first\n")
    assert olmo_cli("train").err == "error: `olmo train` needs a value for 'data': add data=[<token arrays dir>]\n"


def test_a_refused_rerun_leaves_the_finished_run_usable(olmo_cli: Any, tokens: Path, tmp_path: Path) -> None:
    run = tmp_path / "t3"
    args = [*SMALL_MODEL, f"data=[{tokens}]", f"output={run}", "seq_len=32", "global_batch_size=256", "max_steps=1",
            "threads=1"]
    assert olmo_cli("train", args).exit_code == 0
    refused = olmo_cli("train", args, "micro_batch_size=3")
    assert refused.exit_code == 2 and "micro_batch_size=3 must divide" in refused.err
    assert Checkpoint(path=str(run)).is_complete()
