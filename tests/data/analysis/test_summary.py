"""The stats summary is a result: on stdout (whatever OLMO_LOG_LEVEL shows on stderr) and in the job's log.txt."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from olmo_core.logs import setup_logging


def test_the_summary_goes_to_stdout_and_log_txt(olmo_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ds" / "documents").mkdir(parents=True)
    (tmp_path / "ds" / "documents" / "a.jsonl").write_text('{"id": "1", "text": "one two two"}\n'
                                                          '{"id": "2", "text": "two"}\n')
    monkeypatch.setenv("OLMO_LOG_LEVEL", "warning")
    try:
        result = olmo_cli("data", "stats", f"input={tmp_path / 'ds'}", f"output={tmp_path / 'o'}", "tokenizer=null",
                          "figures=false")
    finally:
        monkeypatch.delenv("OLMO_LOG_LEVEL")
        setup_logging()
    assert result.exit_code == 0 and result.err == ""
    lines = result.out.splitlines()
    assert lines[0].split()[:3] == ["source", "documents", "bytes"] and lines[-2].split()[:2] == ["all", "2"]
    assert lines[-1] == "top words: two (3), one (1)"
    assert f"INFO olmo_data.analysis.summary: {result.out}" in (tmp_path / "o" / "log.txt").read_text()
