"""Atomic writes: a file is complete or absent, and a failed write leaves the old one and nothing else."""

from __future__ import annotations

import errno
import gzip
import os
from pathlib import Path

import pytest

from olmo_core.io import StorageError, atomic_path, open_atomic, read_text, write_text


def test_atomic_path_renames_on_success_and_removes_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "new" / "file.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("one")
        assert tmp.parent == target.parent and tmp.name.startswith(".file.txt.tmp-") and not target.exists()
    assert target.read_text() == "one"
    with pytest.raises(RuntimeError, match="killed"), atomic_path(target) as tmp:
        tmp.write_text("two")
        raise RuntimeError("killed")
    assert target.read_text() == "one"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_open_atomic_writes_text_and_reproducible_gzip(tmp_path: Path) -> None:
    write_text(str(tmp_path / "a" / "b.json"), "{}\n")
    assert read_text(str(tmp_path / "a" / "b.json")) == "{}\n"
    for name in ("x.txt.gz", "y.txt.gz"):
        with open_atomic(str(tmp_path / name), "wt", encoding="utf-8", compression="infer") as f:
            f.write("hello\n")
    assert gzip.decompress((tmp_path / "x.txt.gz").read_bytes()) == b"hello\n"
    assert (tmp_path / "x.txt.gz").read_bytes() == (tmp_path / "y.txt.gz").read_bytes()
    with pytest.raises(ValueError), open_atomic(str(tmp_path / "a" / "b.json"), "w") as f:
        f.write("partial")
        raise ValueError
    assert read_text(str(tmp_path / "a" / "b.json")) == "{}\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a", "b.json", "x.txt.gz", "y.txt.gz"]


def test_only_errors_of_the_written_file_are_named_after_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.json"
    with pytest.raises(ConnectionResetError) as raised, open_atomic(str(target), "w") as f:
        f.write("partial")
        raise ConnectionResetError(errno.ECONNRESET, "Connection reset by peer")  # a source streaming in
    assert not isinstance(raised.value, StorageError)
    with pytest.raises(StorageError, match=f"^{target}: No space left on device$"), atomic_path(target) as tmp:
        tmp.write_text("x")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))  # a write to the file, which names no path
    monkeypatch.setattr(os, "replace", lambda *_: (_ for _ in ()).throw(PermissionError(errno.EACCES, "denied")))
    with pytest.raises(StorageError, match=f"^{target}: denied$"), atomic_path(target) as tmp:
        tmp.write_text("x")
    assert not list(tmp_path.iterdir())
