"""Logging: messages on stderr with levels, and a log file in every job's and pipeline's directory."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from olmo_core import cache, hookimpl
from olmo_core.artifacts import Dataset
from olmo_core.jobs import Job, JobResult, Slot
from olmo_core.logs import PACKAGES, log_file, setup_logging

log = logging.getLogger("olmo_core.tests")


@dataclass(kw_only=True)
class NoteConfig:
    note: str = "hello"
    fail: bool = False


class NoteJob(Job):
    """Writes a dataset of one document and logs what it did."""

    command = "toy note"
    outputs: ClassVar[dict[str, Slot]] = {"dataset": Slot(Dataset)}

    def run(self, config: NoteConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        (Path(workdir) / "documents").mkdir(parents=True, exist_ok=True)
        (Path(workdir) / "documents" / "part.jsonl").write_text(json.dumps({"id": "0", "text": config.note}) + "\n")
        log.info("noted %s", config.note)
        log.warning("%s is a short note", config.note)
        if config.fail:
            raise RuntimeError("the note tore")
        return JobResult(outputs={"dataset": Dataset(path=workdir)})


class NotePlugin:
    @hookimpl
    def olmo_register_jobs(self, register: Any) -> None:
        register("note", NoteJob, config=NoteConfig)


def test_info_is_plain_and_warnings_have_a_prefix_on_the_current_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging()
    setup_logging()  # once: no second handler
    log.info("counted 3 documents")
    log.warning("skipped 1 file")
    assert capsys.readouterr().err == "counted 3 documents\nwarning: skipped 1 file\n"


def test_each_line_reaches_stderr_in_one_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """Processes sharing a stderr (a sweep's joblib workers) interleave whole lines only: a record and its line
    break go out in one write, not two, between which another process's line could land."""

    class Writes(list[str]):
        def write(self, text: str) -> int:
            if text:
                self.append(text)
            return len(text)

        def flush(self) -> None:
            pass

    writes = Writes()
    monkeypatch.setattr(sys, "stderr", writes)
    setup_logging()
    logging.getLogger("olmo_core.test").warning("first")
    logging.getLogger("olmo_core.test").info("second")
    assert writes == ["warning: first\n", "second\n"]


def test_a_command_keeps_its_log_in_its_output_directory(register_plugin: Any, olmo_cli: Any, tmp_path: Path) -> None:
    register_plugin(NotePlugin(), "note-plugin")
    result = olmo_cli("toy", "note", f"output={tmp_path / 'out'}", "note=ahoy")
    assert result.exit_code == 0, result.err
    assert result.err == "noted ahoy\nwarning: ahoy is a short note\n" and result.out == ""
    lines = (tmp_path / "out" / "log.txt").read_text().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == ["INFO olmo_core.tests: noted ahoy",
                                                         "WARNING olmo_core.tests: ahoy is a short note"]
    log.info("after the job")  # the file is closed and detached when the job ends
    assert len((tmp_path / "out" / "log.txt").read_text().splitlines()) == 2
    failed = olmo_cli("toy", "note", f"output={tmp_path / 'out'}", "fail=true")
    assert failed.exit_code == 1 and failed.err.splitlines()[-1].startswith("error: RuntimeError: the note tore")
    last = (tmp_path / "out" / "log.txt").read_text().splitlines()[-1]
    assert last.split(" ", 2)[2] == "ERROR olmo_core.logs: RuntimeError: the note tore"


def test_olmo_log_level_chooses_what_stderr_shows(register_plugin: Any, olmo_cli: Any, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    register_plugin(NotePlugin(), "note-plugin")
    monkeypatch.setenv("OLMO_LOG_LEVEL", "warning")
    quiet = olmo_cli("toy", "note", f"output={tmp_path / 'out'}")
    assert quiet.exit_code == 0 and quiet.err == "warning: hello is a short note\n"
    assert "INFO olmo_core.tests: noted hello\n" in (tmp_path / "out" / "log.txt").read_text()  # whatever stderr shows
    monkeypatch.setenv("OLMO_LOG_LEVEL", "loud")
    wrong = olmo_cli("toy", "note", f"output={tmp_path / 'out'}")
    assert wrong.exit_code == 2 and wrong.err == ("error: OLMO_LOG_LEVEL=loud is not a level: use DEBUG, INFO, "
                                                  "WARNING or ERROR\n")
    monkeypatch.delenv("OLMO_LOG_LEVEL")
    setup_logging()


def test_the_pipeline_and_each_stage_keep_a_log(register_plugin: Any, olmo_cli: Any, tmp_path: Path) -> None:
    register_plugin(NotePlugin(), "note-plugin")
    result = olmo_cli("pipeline", "name=l", f"runs_dir={tmp_path}", "stages=[note,report]", "stages.note.note=hi")
    assert result.exit_code == 0, result.err
    run = tmp_path / "l"
    stage = (run / "stages" / "00-note" / "log.txt").read_text()
    assert "INFO olmo_core.tests: noted hi\n" in stage and "WARNING olmo_core.tests: hi is a short note\n" in stage
    assert "[1/2]" not in stage
    whole = [line.split(" ", 2)[2] for line in (run / "log.txt").read_text().splitlines()]
    assert whole[0] == f"INFO olmo_core.pipeline.command: pipeline 'l' in {run}: note, report"
    assert whole[1:4] == ["INFO olmo_core.pipeline.runner: [1/2] note ...", "INFO olmo_core.tests: noted hi",
                          "WARNING olmo_core.tests: hi is a short note"]
    assert whole[-1] == f"INFO olmo_core.pipeline.command: pipeline 'l' complete: 2 stages ran, 0 reused; see {run}"
    assert len(whole) == len(set(whole))  # the report stage works in the run directory: its log is not doubled


def test_a_corrupted_cache_entry_is_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "things" / "a.bin"
    key = cache.key_of("made from")
    cache.store(path, b"payload", key=key)
    path.write_bytes(b"payload!")
    assert cache.lookup(path, key=key) is None
    [record] = [r for r in caplog.records if r.name == "olmo_core.cache"]
    assert record.levelno == logging.WARNING and f"cache entry {path} has sha256" in record.getMessage()


def test_log_txt_keeps_info_in_process_without_setup_logging(tmp_path: Path) -> None:
    for name in PACKAGES:
        logging.getLogger(name).setLevel(logging.NOTSET)
    try:
        with log_file(str(tmp_path)):
            log.info("counted 3 documents")
        log.info("after the block")
        assert logging.getLogger(PACKAGES[0]).level == logging.NOTSET
    finally:
        setup_logging()
    assert [line.split(" ", 2)[2] for line in (tmp_path / "log.txt").read_text().splitlines()] == [
        "INFO olmo_core.tests: counted 3 documents"]


def test_a_message_clears_the_progress_bar_and_redraws_it(capsys: pytest.CaptureFixture[str]) -> None:
    from tqdm import tqdm

    setup_logging()
    with tqdm(total=4, file=sys.stderr, disable=False, ncols=40, bar_format="{n}/{total}") as bar:
        capsys.readouterr()
        log.info("halfway")
        err = capsys.readouterr().err
    assert err.startswith("\r") and "\rhalfway\n" in err and err.endswith("0/4")  # cleared, written, redrawn
    assert bar.n == 0


class _FullDisk:
    """A file on a full disk: every write and flush fails."""

    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")

    def flush(self) -> None:
        raise OSError(28, "No space left on device")

    def close(self) -> None:
        pass


def test_a_log_file_on_a_full_disk_warns_once_and_lets_the_runs_own_error_through(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = logging.getLogger("olmo_core.test_full_disk")
    with pytest.raises(RuntimeError, match="the run's own error"), log_file(str(tmp_path)):
        [handler] = [h for h in logging.getLogger(PACKAGES[0]).handlers if getattr(h, "baseFilename", "")
                     == str(tmp_path / "log.txt")]
        real, handler.stream = handler.stream, _FullDisk()  # type: ignore[attr-defined]
        real.close()
        for n in range(3):
            log.warning("record %d", n)
        raise RuntimeError("the run's own error")
    err = capsys.readouterr().err
    assert err.count(f"warning: {tmp_path / 'log.txt'}: No space left on device; the rest of this run is not kept "
                     "in it") == 1
    assert "Logging error" not in err and "Traceback" not in err
