"""A data command that fails part way still writes its report: ``complete: false``, the error, and what was
done (files done, counts); the counts never hide the error (issue 22)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from olmo_core.errors import OlmoError
from olmo_data.layout import counted, reporting
from tests.conftest import stdlib_documents


def write(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def file_of(task: Any) -> str:
    """The document file of a per-file (or per-part) task: a path, a part, a ``(part, ...)`` pair or a task with
    a ``part``."""
    if isinstance(task, str):
        return task
    if isinstance(task, tuple):
        return file_of(task[0])
    return getattr(task, "part", task).file


def fail_on(module: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``module.name`` (a per-file or per-part function) fail on the file ``b.jsonl``."""
    real = getattr(module, name)

    def failing(task: Any, *args: Any, **kwargs: Any) -> Any:
        if file_of(task).endswith("b.jsonl"):
            raise OSError("disk full")
        return real(task, *args, **kwargs)

    monkeypatch.setattr(module, name, failing)


@pytest.fixture
def two_files(tmp_path: Path) -> Path:
    records = stdlib_documents()
    write(tmp_path / "ds" / "documents" / "a.jsonl", records[:4])
    write(tmp_path / "ds" / "documents" / "b.jsonl", records[4:8])
    return tmp_path / "ds"


def test_counts_are_checked_only_when_asked_and_never_hide_the_error(tmp_path: Path) -> None:
    assert counted(5, written=2, quarantined=1) == {"records": 5, "written": 2, "dropped": 0, "quarantined": 1}
    with pytest.raises(OlmoError, match="records lost: 5 read != 2 written"):
        counted(5, written=2, quarantined=1, check=True)
    with pytest.raises(ValueError, match="boom"), reporting(str(tmp_path / "r.json"),
                                                            lambda e: {"error": e, **counted(5, written=2,
                                                                                             quarantined=1)}):
        raise ValueError("boom")
    assert json.loads((tmp_path / "r.json").read_text())["error"] == "ValueError: boom"


def test_mix(two_files: Path, tmp_path: Path, olmo_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import olmo_data.commands.mix as mix_command

    fail_on(mix_command, "_write", monkeypatch)
    result = olmo_cli("data", "mix", f"input={two_files}", f"output={tmp_path / 'out'}",
                      "mixer.factors={python-docs: 1}")
    assert result.exit_code == 1 and "disk full" in result.err
    report = json.loads((tmp_path / "out" / "reports" / "mix.json").read_text())
    assert report["complete"] is False and report["error"] == "OSError: disk full"
    assert (report["files"], report["files_done"], report["records"], report["written"]) == (2, 1, 4, 4)


@pytest.mark.parametrize("phase", ["all", "count"])
def test_stats(phase: str, two_files: Path, tmp_path: Path, olmo_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import olmo_data.commands.stats as stats_command

    fail_on(stats_command, "count_part", monkeypatch)
    out = tmp_path / "stats"
    result = olmo_cli("data", "stats", f"input={two_files}", f"output={out}", f"phase={phase}", "tokenizer=null",
                      "figures=false")
    assert result.exit_code == 1 and "disk full" in result.err
    path = out / ("stats.json" if phase == "all" else "stats-shard-0-of-1.json")
    report = json.loads(path.read_text())
    assert report["complete"] is False and report["error"] == "OSError: disk full"
    assert (report["files"], report["files_done"], report["records"], report["written"]) == (2, 1, 4, 4)
    monkeypatch.undo()
    assert olmo_cli("data", "stats", f"input={two_files}", f"output={out}", f"phase={phase}", "tokenizer=null",
                    "figures=false").exit_code == 0
    report = json.loads(path.read_text())
    assert report["complete"] is True and (report["files_done"], report["records"]) == (2, 8)


def test_decontaminate(two_files: Path, tmp_path: Path, olmo_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import olmo_data.commands.filter as filter_command

    write(tmp_path / "eval" / "eval.jsonl", stdlib_documents()[9:10])
    fail_on(filter_command, "_filter_part", monkeypatch)
    out = tmp_path / "clean"
    result = olmo_cli("data", "decontaminate", f"input={two_files}", f"output={out}",
                      f"eval=[{tmp_path / 'eval' / 'eval.jsonl'}]")
    assert result.exit_code == 1 and "disk full" in result.err
    report = json.loads((out / "reports" / "decontaminate.json").read_text())
    assert report["complete"] is False and report["error"] == "OSError: disk full"
    assert (report["files"], report["files_done"], report["records"]) == (2, 1, 4)
    assert report["written"] + report["dropped"] == 4
