"""Every record counted, inputs that only look like document files, paths that leave the output, OS errors
(issue 22) and steps whose every record was quarantined (issue 17)."""

from __future__ import annotations

import errno
import gzip
import json
import os
import socket
from pathlib import Path
from typing import Any

import fsspec
import pytest

from olmo_core.documents import document_files

from tests.conftest import stdlib_documents

INVALID = [b'{"id": "broken", "text": ', b'{"id": "no-text"}', b"[1, 2]", b'{"id": "latin1", "text": "caf\xe9"}',
           b'{"text": "no id"}']


def _lines(records: list[dict[str, Any]]) -> list[bytes]:
    return [json.dumps(r).encode() for r in records]


def _write(path: Path, lines: list[bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _report(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_mix_counts_quarantines_and_drops(tmp_path: Path, olmo_cli: Any) -> None:
    records = stdlib_documents()
    for record in records[:4]:
        record["source"] = "dropme"
    good = _lines(records)
    _write(tmp_path / "ds" / "documents" / "a.jsonl", [good[0], INVALID[0], *good[1:6], *INVALID[1:], *good[6:]])
    out = tmp_path / "mix"
    result = olmo_cli("data", "mix", f"input={tmp_path / 'ds'}", f"output={out}", "mixer.factors={dropme: 0.0}")
    assert result.exit_code == 0, result.err
    report = _report(out / "reports" / "mix.json")
    assert {k: report[k] for k in ("records", "written", "dropped", "quarantined")} == \
        {"records": 17, "written": 8, "dropped": 4, "quarantined": 5}
    assert "17 records in: 8 written, 4 dropped, 5 quarantined" in result.err
    assert len((out / "documents" / "a.jsonl").read_text().splitlines()) == 8
    quarantined = [json.loads(line)["line"] for line in (out / "quarantine" / "a.jsonl").read_text().splitlines()]
    assert quarantined == [2, 8, 9, 10, 11]


@pytest.mark.parametrize("command", ["dedup", "tokenize", "mix", "stats", "decontaminate"])
def test_a_step_whose_every_record_was_quarantined_fails_after_its_report(tmp_path: Path, olmo_cli: Any,
                                                                         command: str) -> None:
    _write(tmp_path / "ds" / "documents" / "bad.jsonl", INVALID)
    out = tmp_path / "out"
    evaluation = _write(tmp_path / "eval.jsonl", _lines(stdlib_documents()[:1]))
    args = {"dedup": ["dedupers=[exact]"], "tokenize": [f"output={out}"], "mix": [f"output={out}"],
            "stats": [f"output={out}", "tokenizer=null", "figures=false"],
            "decontaminate": [f"output={out}", f"eval=[{evaluation}]"]}
    result = olmo_cli("data", command, f"input={tmp_path / 'ds'}", *args[command])
    assert result.exit_code != 0
    assert "all 5 records of input=" in result.err and "were quarantined" in result.err
    report = {"dedup": tmp_path / "ds" / "reports" / "dedup-exact.json", "tokenize": out / "tokenize.json",
              "mix": out / "reports" / "mix.json", "stats": out / "stats.json",
              "decontaminate": out / "reports" / "decontaminate.json"}[command]
    assert _report(report)["complete"] is False and "were quarantined" in _report(report)["error"]


def _dataset_with_odd_entries(tmp_path: Path) -> Path:
    docs = tmp_path / "ds" / "documents"
    good = _lines(stdlib_documents())
    _write(docs / "b.jsonl", good[:6])
    _write(docs / "x.jsonl" / "a.jsonl", good[6:])
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(docs / "s.jsonl"))
    server.close()
    return tmp_path / "ds"


def test_directories_and_sockets_named_like_document_files_are_skipped(tmp_path: Path, olmo_cli: Any) -> None:
    dataset = _dataset_with_odd_entries(tmp_path)
    docs = dataset / "documents"
    reasons = {str(docs / "x.jsonl"): "a directory", str(docs / "s.jsonl"): "not a regular file"}
    for args, report in [(["tag", "taggers=[c4]"], dataset / "reports" / "tag.json"),
                         (["dedup", "dedupers=[exact]"], dataset / "reports" / "dedup-exact.json"),
                         (["mix", f"output={tmp_path / 'mix'}"], tmp_path / "mix" / "reports" / "mix.json")]:
        result = olmo_cli("data", args[0], f"input={dataset}", *args[1:])
        assert result.exit_code == 0, result.err
        found = _report(report)
        assert (found["records"], found["written"], found["quarantined"]) == (12, 12, 0)
        assert {path: reason.split(" (")[0][: len(reasons[path])] for path, reason in found["skipped_files"].items()} \
            == reasons
    assert len((tmp_path / "mix" / "documents" / "x.jsonl" / "a.jsonl").read_text().splitlines()) == 6
    assert not (dataset / "quarantine").exists()


def test_fifo_named_like_a_document_file_is_never_opened(tmp_path: Path) -> None:
    docs = tmp_path / "ds" / "documents"
    _write(docs / "b.jsonl", _lines(stdlib_documents()[:2]))
    os.mkfifo(docs / "pipe.jsonl")  # opening it for reading would block forever
    skipped: dict[str, str] = {}
    assert document_files(str(tmp_path / "ds"), skipped=skipped) == [str(docs / "b.jsonl")]
    assert skipped == {str(docs / "pipe.jsonl"): "not a regular file (a socket, pipe or device)"}


def test_links_out_of_a_dataset_are_not_followed(tmp_path: Path, olmo_cli: Any) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    docs = tmp_path / "ds" / "documents"
    _write(docs / "b.jsonl", _lines(stdlib_documents()[:6]))
    (docs / "part.jsonl").symlink_to(secret)
    (docs / "alias.jsonl").symlink_to(docs / "b.jsonl")  # inside the dataset: read
    result = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[c4]")
    assert result.exit_code == 0, result.err
    report = _report(tmp_path / "ds" / "reports" / "tag.json")
    assert (report["records"], report["quarantined"]) == (12, 0)
    assert list(report["skipped_files"]) == [str(docs / "part.jsonl")]
    assert "outside" in report["skipped_files"][str(docs / "part.jsonl")]
    assert not (tmp_path / "ds" / "quarantine").exists()


def test_a_source_name_never_leaves_the_output(tmp_path: Path, olmo_cli: Any) -> None:
    source = _write(tmp_path / "in" / "docs.jsonl", _lines(stdlib_documents()[:2]))
    output = tmp_path / "a" / "out"
    result = olmo_cli("data", "fetch", "sources=[jsonl]", f"sources.jsonl.path={source}",
                      "sources.jsonl.name=../../escape", f"output={output}")
    assert result.exit_code == 2
    assert result.err.count("\n") == 1 and "sources.jsonl.name='../../escape' must be a plain name" in result.err
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert [p for p in written if not p.startswith("a/out/")] == ["in/docs.jsonl"]
    assert not any(p.startswith("a/out/documents") for p in written)


def test_a_full_disk_names_the_file(tmp_path: Path, olmo_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "ds" / "documents" / "b.jsonl", _lines(stdlib_documents()[:3]))
    real_fsync = os.fsync

    def full(fd: int) -> None:
        if "/documents/" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "mix"
    result = olmo_cli("data", "mix", f"input={tmp_path / 'ds'}", f"output={out}")
    assert result.exit_code == 1
    assert result.err.strip().splitlines()[-1] == f"error: {out}/documents/b.jsonl: No space left on device"
    report = _report(out / "reports" / "mix.json")
    assert report["complete"] is False and report["error"] == f"{out}/documents/b.jsonl: No space left on device"
    assert not (out / "documents" / "b.jsonl").exists()


def test_a_file_where_a_folder_belongs_is_named(tmp_path: Path, olmo_cli: Any) -> None:
    _write(tmp_path / "ds" / "documents" / "b.jsonl", _lines(stdlib_documents()[:3]))
    (tmp_path / "ds" / "attributes").write_text("not a folder\n")
    result = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[c4]")
    assert result.exit_code == 1
    assert result.err.strip().splitlines()[-1] == f"error: {tmp_path / 'ds' / 'attributes'}/c4: Not a directory"


def test_a_pipeline_name_never_leaves_the_runs_directory(tmp_path: Path, olmo_cli: Any) -> None:
    result = olmo_cli("pipeline", "name=..", f"runs_dir={tmp_path / 'runs'}")
    assert result.exit_code == 2 and "name='..' must be a plain name" in result.err
    assert not any(tmp_path.iterdir())


def test_a_user_source_does_not_follow_links_out_of_its_folder(tmp_path: Path, olmo_cli: Any) -> None:
    secret = _write(tmp_path / "secret.jsonl", _lines(stdlib_documents()[:1]))
    folder = tmp_path / "mine"
    _write(folder / "docs.jsonl", _lines(stdlib_documents()[1:3]))
    (folder / "part.jsonl").symlink_to(secret)
    result = olmo_cli("data", "fetch", "sources=[jsonl]", f"sources.jsonl.path={folder}", f"output={tmp_path / 'out'}")
    assert result.exit_code == 0, result.err
    fetched = _report(tmp_path / "out" / "reports" / "fetch.json")
    assert fetched["sources"]["mine"]["documents"] == 2


def test_a_documents_folder_linked_to_shared_storage_is_read(tmp_path: Path, olmo_cli: Any) -> None:
    shared = tmp_path / "shared" / "docs"
    _write(shared / "b.jsonl", _lines(stdlib_documents()[:6]))
    (shared / "part.jsonl").symlink_to(_write(tmp_path / "shared" / "other.jsonl", _lines(stdlib_documents()[:1])))
    docs = tmp_path / "ds" / "documents"
    docs.parent.mkdir()
    docs.symlink_to(shared)
    result = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[c4]")
    assert result.exit_code == 0, result.err
    report = _report(tmp_path / "ds" / "reports" / "tag.json")
    assert (report["records"], report["quarantined"]) == (6, 0)
    assert list(report["skipped_files"]) == [str(docs / "part.jsonl")]  # out of the linked folder: still refused
    assert "outside" in report["skipped_files"][str(docs / "part.jsonl")]


def test_a_user_file_replaced_with_the_same_size_and_time_is_fetched_again(tmp_path: Path, olmo_cli: Any) -> None:
    fs, folder = fsspec.filesystem("memory"), f"/{tmp_path.name}/mine"  # its ukey is size and time, not content
    records = stdlib_documents()[:2]
    fs.pipe(f"{folder}/docs.jsonl", b"".join(line + b"\n" for line in _lines(records)))
    fs.mkdir(f"{folder}/x.jsonl")
    args = ("data", "fetch", "sources=[jsonl]", f"sources.jsonl.path=memory://{folder}", f"output={tmp_path / 'out'}")
    first = olmo_cli(*args)
    assert first.exit_code == 0, first.err
    assert f"{folder}/x.jsonl: a directory" in first.err
    created, size = fs.info(f"{folder}/docs.jsonl")["created"], fs.size(f"{folder}/docs.jsonl")
    records[0]["text"] = records[0]["text"].swapcase()
    fs.pipe(f"{folder}/docs.jsonl", b"".join(line + b"\n" for line in _lines(records)))
    fs.store[f"{folder}/docs.jsonl"].created = created  # its time restored
    assert fs.size(f"{folder}/docs.jsonl") == size
    second = olmo_cli(*args)
    assert second.exit_code == 0 and "mine: wrote 2 documents" in second.err, second.err
    written = tmp_path / "out" / "documents" / "mine" / "part-00000.jsonl.gz"
    assert json.loads(gzip.decompress(written.read_bytes()).splitlines()[0])["text"] == records[0]["text"]
    written.write_bytes(written.read_bytes()[:-8] + bytes(8))  # an output edited in place, same size
    third = olmo_cli(*args)
    assert third.exit_code == 0 and "mine: wrote 2 documents" in third.err, third.err
    assert json.loads(gzip.decompress(written.read_bytes()).splitlines()[0])["text"] == records[0]["text"]
    fs.rm(f"/{tmp_path.name}", recursive=True)
