"""A killed run leaves nothing behind: its workers end with it, and the next run removes its temporaries."""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from olmo_core.io import atomic_path, remove_temporaries

from tests.conftest import stdlib_documents


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # state, ppid, ...


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_tag_workers_end_when_their_parent_is_killed(tmp_path: Path) -> None:
    records = stdlib_documents()
    for index in range(4):  # enough for each worker to tag for several seconds
        target = tmp_path / "ds" / "documents" / f"part-{index}.jsonl.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(target, "wt", encoding="utf-8") as f:
            f.writelines(json.dumps({**r, "id": f"{r['id']}-{n}"}) + "\n" for n in range(400) for r in records)
    parent = subprocess.Popen([sys.executable, "-m", "olmo_core", "data", "tag", f"input={tmp_path / 'ds'}",
                               "taggers=[gopher_repetition,gopher_quality]", "workers=2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers := children(parent.pid)) < 2:
            assert parent.poll() is None and time.monotonic() < deadline, "the workers never started"
            time.sleep(0.05)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 5
        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if alive(pid)]
    finally:
        parent.kill()
        for pid in [pid for pid in workers if alive(pid)]:
            os.kill(pid, signal.SIGKILL)


def test_the_next_run_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    out = tmp_path / "out"
    staging = out / "checkpoints" / ".step000004.tmp-1a2b3c4d"  # a checkpoint killed while it was written
    staging.mkdir(parents=True)
    (staging / "model.safetensors").write_bytes(b"\0" * 1024)
    replaced = out / "checkpoints" / ".step000002.old-0badc0de"
    replaced.mkdir()
    partial = out / "attributes" / ".docs.jsonl.gz.tmp-0123456789ab"  # atomic_path's partial file
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"half")
    kept = [out / "notes.tmp", out / ".cache.tmp-xyz", out / "checkpoints" / "step000002" / "model.safetensors",
            out / ".hidden"]
    for path in kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("the user's")
    with atomic_path(out / "being-written.json") as writing:  # another run writing: left alone
        writing.write_text("{}")
        assert sorted(remove_temporaries(str(out))) == sorted(map(str, (staging, replaced, partial)))
        assert writing.exists()
    assert (out / "being-written.json").read_text() == "{}"
    assert all(path.read_text() == "the user's" for path in kept)
    assert remove_temporaries(str(tmp_path / "missing")) == [] == remove_temporaries("memory://x")


def test_a_command_removes_the_temporaries_in_its_output(dataset: Path, tmp_path: Path, olmo_cli: Any) -> None:
    out = tmp_path / "tokens"
    left = [out / ".part-00000.npy.tmp-0123456789ab", out / "sub" / ".step000001.tmp-89abcdef" / "x"]
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
    assert olmo_cli("data", "tokenize", f"input={dataset}", f"output={out}").exit_code == 0
    assert not left[0].exists() and not left[1].parent.exists() and (out / "part-00000.npy").is_file()
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]


def test_a_checkpoint_killed_between_its_renames_is_restored(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    import torch
    from olmo_core.checkpoint import save_checkpoint, verify_checkpoint

    final = save_checkpoint(tmp_path / "step000002", tensors={"model": {"w": torch.ones(3)}})
    manifest = verify_checkpoint(final)
    staging = tmp_path / ".step000002.tmp-1a2b3c4d"  # the new copy, killed before its rename
    staging.mkdir()
    (staging / "model.safetensors").write_bytes(b"\0" * 64)
    final.rename(tmp_path / ".step000002.old-0badc0de")  # the old copy, moved aside
    assert remove_temporaries(str(tmp_path)) == [str(staging)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step000002"]
    assert verify_checkpoint(final) == manifest


def test_a_folder_or_file_another_run_writes_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_flock, raced = fcntl.flock, []

    def removed_before_locked(fd: int, operation: int) -> None:  # another run's cleanup between create and lock
        if operation == fcntl.LOCK_SH and not raced:
            raced.extend(remove_temporaries(str(tmp_path / "out")))
        real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", removed_before_locked)
    with atomic_path(tmp_path / "out" / "x.json") as writing:
        writing.write_text("{}")
        assert len(raced) == 1 and remove_temporaries(str(tmp_path / "out")) == []
    assert (tmp_path / "out" / "x.json").read_text() == "{}"
    from olmo_core.io import claimed

    staging = tmp_path / ".step000004.tmp-1a2b3c4d"
    with claimed(staging, folder=True):
        (staging / "model.safetensors").write_bytes(b"\0")
        assert remove_temporaries(str(tmp_path)) == [] and staging.is_dir()
