"""Long data jobs count progress per document as it is read, not per finished file (issue 17)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from olmo_core.progress import Progress
from olmo_data.parallel import map_shards, read_counted
from tests.conftest import stdlib_documents


def write_documents(path: Path, n: int) -> str:
    path.write_text("".join(json.dumps({"id": str(i), "text": f"document {i}"}) + "\n" for i in range(n)))
    return str(path)


def test_progress_moves_with_each_document_of_a_single_file(tmp_path: Path) -> None:
    updates: list[int] = []
    seen: list[int] = []

    def work(file: str) -> int:
        for _ in read_counted(file):
            seen.append(sum(updates))  # what the bar shows while this document is worked on
        return len(seen)

    file = write_documents(tmp_path / "a.jsonl", 5)
    assert list(map_shards(work, [file], workers=1, progress=updates.append)) == [5]
    assert seen == [0, 1, 2, 3, 4] and updates == [1] * 5


def _wait_until_seen(task: tuple[str, str]) -> int:
    """Read two documents, then finish only once the parent has counted them (it fails if it never does): a
    document counts once the worker is done with it, so the wait is on the third."""
    file, flag = task
    for number, _ in enumerate(read_counted(file), start=1):
        if number == 3:
            deadline = time.monotonic() + 20
            while not Path(flag).exists():
                if time.monotonic() > deadline:
                    raise TimeoutError("the parent never saw the worker's first documents")
                time.sleep(0.01)
    return number


def test_workers_report_documents_before_their_file_finishes(tmp_path: Path) -> None:
    flag = tmp_path / "seen"
    counted: list[int] = []

    def progress(n: int) -> None:
        counted.append(n)
        if sum(counted) >= 2:
            flag.touch()

    tasks = [(write_documents(tmp_path / f"{i}.jsonl", 4), str(flag)) for i in range(2)]
    assert list(map_shards(_wait_until_seen, tasks, workers=2, progress=progress)) == [4, 4]
    assert sum(counted) == 8


def test_tag_advances_its_bar_per_document(tmp_path: Path, olmo_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from olmo_core.progress import Progress

    steps: list[float] = []
    real_update = Progress.update
    monkeypatch.setattr(Progress, "update", lambda self, n=1: steps.append(n) or real_update(self, n))
    (tmp_path / "ds" / "documents").mkdir(parents=True)
    write_documents(tmp_path / "ds" / "documents" / "one.jsonl", 6)
    assert olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[pii]").exit_code == 0
    assert [n for n in steps if n] == [1] * 6


def test_dedup_counts_each_document_as_it_reads(tmp_path: Path, olmo_cli: Any,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from olmo_data.commands import dedup

    records = stdlib_documents()
    target = tmp_path / "ds" / "documents" / "a.jsonl"
    target.parent.mkdir(parents=True)
    target.write_text("".join(json.dumps(r) + "\n" for r in records))
    steps: list[float] = []

    class Counted(Progress):
        def update(self, n: float | None = 1) -> bool | None:
            steps.append(n or 0)
            return super().update(n)

    monkeypatch.setattr(dedup, "Progress", Counted)
    result = olmo_cli("data", "dedup", f"input={tmp_path / 'ds'}", "dedupers=[exact]")
    assert result.exit_code == 0, result.err
    assert steps == [1] * len(records)  # one file, each document counted as it is read, not once per file
