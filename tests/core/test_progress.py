"""Progress bars count documents, on a terminal only."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from olmo_core.progress import Progress, duration
from tests.conftest import stdlib_documents


def test_a_bar_counts_and_shows_its_postfix() -> None:
    stream = io.StringIO()
    with Progress("tagging", unit="docs", stream=stream, disable=False, mininterval=0) as bar:
        bar.advance(3, postfix="1/2 files")
        bar.advance(4, postfix="2/2 files")
    assert bar.n == 7 and stream.getvalue().rstrip().endswith("2/2 files]")
    assert "tagging: 7 docs" in stream.getvalue()


def test_no_bar_off_a_terminal() -> None:
    stream = io.StringIO()
    with Progress("tagging", unit="docs", stream=stream) as bar:
        bar.advance(5)
    assert stream.getvalue() == ""


def test_data_tag_with_workers_counts_documents(tmp_path: Path, olmo_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from olmo_data.commands import tag

    records = stdlib_documents()
    for name, part in (("a", records[:5]), ("b", records[5:])):
        target = tmp_path / "ds" / "documents" / f"{name}.jsonl.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(target, "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in part)
    bars: list[Progress] = []

    class Shown(Progress):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, stream=io.StringIO(), disable=False, mininterval=0, **kwargs)
            bars.append(self)

    monkeypatch.setattr(tag, "Progress", Shown)
    result = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[pii]", "workers=2")
    assert result.exit_code == 0, result.err
    [bar] = bars
    assert bar.n == len(records) == 12 and bar.unit == " docs"
    assert "tagging: 12 docs" in bar.fp.getvalue() and "2/2 files" in bar.fp.getvalue()


def test_off_a_terminal_the_count_is_logged_every_interval(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="olmo_core.progress")
    with Progress("tagging", unit="docs", stream=io.StringIO(), total=10, log_every=0.0) as bar:
        bar.advance(3, postfix="1/2 files")
        bar.advance(4)
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == ["tagging: 3 of 10 docs", "tagging: 7 of 10 docs"]
    assert caplog.records[0].getMessage().endswith("[1/2 files]")
    caplog.clear()
    with Progress("tagging", unit="docs", stream=io.StringIO()) as bar:  # the default: every 30 s
        bar.advance(5)
    assert caplog.records == []


def test_a_slow_count_logs_its_rate_in_two_figures_and_the_time_left(caplog: pytest.LogCaptureFixture,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level("INFO", logger="olmo_core.progress")
    clock = iter([0.0, 63.0])  # started at 0; 4 of 605 rows done at 63 s: 0.063/s, 601 / (4 / 63) s left
    monkeypatch.setattr("olmo_core.progress.time.monotonic", lambda: next(clock))
    with Progress("scoring", unit="rows", stream=io.StringIO(), total=605, log_every=30.0) as bar:
        bar.advance(4)
    assert [r.getMessage() for r in caplog.records] == ["scoring: 4 of 605 rows (0.063/s, 2.6 h left)"]
    assert (duration(40), duration(12 * 60), duration(2.5 * 3600)) == ("40 s", "12 min", "2.5 h")
