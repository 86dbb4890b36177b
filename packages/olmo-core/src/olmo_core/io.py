"""File IO over any fsspec URL (local paths, ``memory://``, ``s3://`` ...), with atomic writes where they
are possible."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import fsspec
from fsspec.core import url_to_fs
from fsspec.utils import infer_compression

__all__ = ["atomic_path", "exists", "glob", "makedirs", "open_atomic", "open_file", "read_text", "remove", "sha256_file",
           "write_text"]


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


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a local file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def makedirs(url: str) -> None:
    """Create the directory ``url`` and its parents."""
    fs, path = url_to_fs(url)
    fs.makedirs(path, exist_ok=True)


def remove(url: str, *, recursive: bool = False) -> None:
    """Remove the file (or, with ``recursive``, the directory) ``url`` if it exists."""
    fs, path = url_to_fs(url)
    if fs.exists(path):
        fs.rm(path, recursive=recursive)


def read_text(url: str) -> str:
    """The whole text of ``url`` (UTF-8)."""
    with open_file(url, "rt", encoding="utf-8") as f:
        return f.read()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary local path beside ``path`` (``.<name>.tmp-<random>``) for the block to write, so that
    readers never see a partial file: when the block ends without an error the file is synced to disk and
    renamed onto ``path`` (replacing any file there); when it fails the file is removed. The parent directory
    is created."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        yield tmp
        with open(tmp, "rb") as raw:
            os.fsync(raw.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def open_atomic(url: str, mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open ``url`` for writing so that readers never see a partial file.

    On a local disk the data goes to a temporary file beside the target (:func:`atomic_path`), renamed into
    place when the block ends without an error (and removed when it fails); elsewhere the store's own write
    is used. ``compression="infer"`` compresses by the target's suffix; local gzip files carry no timestamp,
    so the same content always gives the same bytes.
    """
    fs, path = url_to_fs(url)
    if not _is_local(fs):
        if os.path.dirname(path):
            fs.makedirs(os.path.dirname(path), exist_ok=True)
        with fsspec.open(url, mode, **kwargs) as f:
            yield f
        return
    compression = kwargs.pop("compression", None)
    if compression == "infer":
        compression = infer_compression(path)
    with atomic_path(path) as tmp:
        if compression == "gzip":
            with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                if "t" in mode:
                    text = io.TextIOWrapper(gz, **kwargs)
                    yield text
                    text.flush()
                    text.detach()
                else:
                    yield gz
        else:
            with fsspec.open(str(tmp), mode, compression=compression, **kwargs) as f:
                yield f


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocols or "local" in protocols


def write_text(url: str, text: str) -> None:
    """Write ``text`` to ``url`` atomically (see :func:`open_atomic`)."""
    with open_atomic(url, "w", encoding="utf-8") as f:
        f.write(text)
