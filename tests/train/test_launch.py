"""The one-line message of a failed multi-process job, from torch elastic's own failure records."""

from __future__ import annotations

import json
from pathlib import Path

from torch.distributed.elastic.multiprocessing.errors import ProcessFailure

from olmo_train.launch import describe_failures


def failure(local_rank: int, pid: int, exitcode: int, tmp_path: Path, error: str | None = None,
            timestamp: int = 1_700_000_000) -> ProcessFailure:
    error_file = tmp_path / f"error-{pid}.json"
    if error is not None:
        error_file.write_text(json.dumps({"message": {"message": error, "extraInfo": {"timestamp": "0"}}}))
    record = ProcessFailure(local_rank=local_rank, pid=pid, exitcode=exitcode, error_file=str(error_file))
    record.timestamp = timestamp  # normally read from the error file, or the current second
    return record


def test_the_rank_that_died_leads_not_the_ones_the_launcher_stopped(tmp_path: Path) -> None:
    # same second: rank 0 was stopped (SIGTERM) because rank 1 exited by itself
    failures = {0: failure(0, 100, -15, tmp_path), 1: failure(1, 101, 3, tmp_path)}
    message = describe_failures(failures, 2)
    assert message == ("training failed on rank 1 of 2: rank 1 (local rank 1, pid 101) exited with code 3; "
                       "rank 0 (local rank 0, pid 100) was killed by SIGTERM; the other ranks were stopped")


def test_a_silent_death_leads_the_ranks_that_recorded_errors(tmp_path: Path) -> None:
    failures = {0: failure(0, 100, 1, tmp_path, error="RuntimeError: connection lost", timestamp=5),
                1: failure(1, 101, -9, tmp_path, timestamp=9)}
    message = describe_failures(failures, 2)
    assert message.startswith("training failed on rank 1 of 2: rank 1 (local rank 1, pid 101) was killed by SIGKILL; "
                              "rank 0 (local rank 0, pid 100) failed: RuntimeError: connection lost")
