"""File IO over any fsspec URL (local paths, ``memory://``, ``s3://`` ...), with atomic writes where they
are possible."""

from __future__ import annotations

import os
import uuid
from typing import IO, Any

import fsspec
from fsspec.core import url_to_fs

__all__ = ["exists", "glob", "makedirs", "open_file", "read_text", "write_text"]


def open_file(url: str, mode: str = "rb", **kwargs: Any) -> IO[Any]:
    """Open ``url`` through fsspec; ``compression="infer"`` reads ``.gz``/``.zst`` transparently."""
    return fsspec.open(url, mode, **kwargs).open()


def exists(url: str) -> bool:
    """Whether ``url`` exists."""
    fs, path = url_to_fs(url)
    return bool(fs.exists(path))


def glob(pattern: str) -> list[str]:
    """The URLs matching ``pattern``, sorted, with the pattern's protocol kept."""
    fs, path = url_to_fs(pattern)
    return sorted(fs.unstrip_protocol(p) if "://" in pattern else p for p in fs.glob(path))


def makedirs(url: str) -> None:
    """Create the directory ``url`` and its parents."""
    fs, path = url_to_fs(url)
    fs.makedirs(path, exist_ok=True)


def read_text(url: str) -> str:
    """The whole text of ``url`` (UTF-8)."""
    with open_file(url, "rt", encoding="utf-8") as f:
        return f.read()


def write_text(url: str, text: str) -> None:
    """Write ``text`` to ``url``; on a local disk, through a temporary file renamed into place."""
    fs, path = url_to_fs(url)
    parent = os.path.dirname(path)
    if parent:
        fs.makedirs(parent, exist_ok=True)
    if fs.protocol in ("file", ("file", "local"), "local") or "file" in fs.protocol:
        tmp = f"{path}.tmp-{uuid.uuid4().hex}"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return
    with fs.open(path, "w", encoding="utf-8") as f:
        f.write(text)
