from __future__ import annotations

from pathlib import Path
from typing import Any

from olmo_train.data import DataLoaderConfig
from tests.train.data.helpers import document_ids_per_token, expected_instances

SEQ = 32


def test_inspect_batch_prints_the_steps_documents(token_dirs: list[Path], tmp_path: Path, olmo_cli: Any) -> None:
    data = DataLoaderConfig(paths=[str(d) for d in token_dirs], seq_len=SEQ, global_batch_size=4 * SEQ,
                            seed=3).build(tmp_path / "data")  # where a trainer builds its loader in its run
    steps = [batch["index"].tolist() for _, batch in zip(range(3), data)]
    owners = [ids[:len(ids) // SEQ * SEQ].reshape(-1, SEQ) for ids in document_ids_per_token(token_dirs)]
    owners_per_instance = [row for part in owners for row in part]
    assert len(owners_per_instance) == len(expected_instances(token_dirs, SEQ))
    result = olmo_cli("data", "inspect-batch", f"run={tmp_path}", "step=3")
    assert result.exit_code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("step 3 (epoch 1, batch 3 of")
    assert len(lines) == 1 + 4
    for position, (index, line) in enumerate(zip(steps[2], lines[1:])):
        assert line.startswith(f"  [{position}] instance {index}: ")
        printed = [entry.split(" (")[0] for entry in line.split(": ", 1)[1].split(", ") if " (" in entry]
        assert printed == list(dict.fromkeys(owners_per_instance[index].tolist()))
    assert olmo_cli("data", "inspect-batch", f"run={tmp_path / 'data'}", "step=3").out == result.out


def test_inspect_batch_without_a_run_is_one_clear_error(tmp_path: Path, olmo_cli: Any) -> None:
    result = olmo_cli("data", "inspect-batch", f"run={tmp_path}")
    assert result.exit_code == 2 and "no loader.json" in result.err
