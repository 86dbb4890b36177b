"""File IO over any fsspec URL (local paths, ``memory://``, ``s3://`` ...), with atomic writes where they
are possible."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import logging
import os
import posixpath
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import fsspec
from isal import igzip
from fsspec.core import url_to_fs
from fsspec.utils import infer_compression

from olmo_core.errors import ConfigError, OlmoError

log = logging.getLogger(__name__)

GZIP_LEVEL = 2
"""ISA-L's compression level (0-3) for the gzip files olmo writes: its default, the best trade of speed and size
for data that is written once and read a few times."""

__all__ = ["StorageError", "atomic_path", "check_name", "claimed", "exists", "glob", "is_file", "is_local",
           "local_directory", "makedirs", "open_atomic", "open_file", "read_text", "remove", "remove_temporaries",
           "sha256_file", "staged_path", "storage_errors", "write_text"]


def open_file(url: str, mode: str = "rb", **kwargs: Any) -> IO[Any]:
    """Open ``url`` through fsspec; ``compression="infer"`` reads ``.gz``/``.zst`` transparently."""
    return fsspec.open(url, mode, **kwargs).open()


def exists(url: str) -> bool:
    """Whether ``url`` exists."""
    fs, path = url_to_fs(url)
    return bool(fs.exists(path))


def is_file(url: str) -> bool:
    """Whether ``url`` is a file (not a directory, and not absent)."""
    fs, path = url_to_fs(url)
    return bool(fs.isfile(path))


def glob(pattern: str) -> list[str]:
    """The URLs matching ``pattern``, sorted, with the pattern's protocol kept."""
    fs, path = url_to_fs(pattern)
    return sorted(fs.unstrip_protocol(p) if "://" in pattern else p for p in fs.glob(path))


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 hex digest of a local file, read in chunks."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def makedirs(url: str) -> None:
    """Create the directory ``url`` and its parents. On an object store, its bucket must exist: olmo never creates
    one (a misspelled bucket would otherwise become a new one), and the error says so."""
    fs, path = url_to_fs(url)
    call_s3 = getattr(fs, "call_s3", None)  # s3fs, whose makedirs would create a missing bucket
    if call_s3 is not None and (bucket := fs.split_path(path)[0]):
        try:
            call_s3("head_bucket", Bucket=bucket)
        except FileNotFoundError:
            from olmo_core.errors import ConfigError

            raise ConfigError(f"{url}: the bucket '{bucket}' does not exist (olmo creates no buckets): create it, "
                              f"or check the spelling") from None
        except Exception:  # not allowed to look (no s3:ListBucket): the writes will say what is wrong
            pass
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


def check_name(key: str, value: str) -> str:
    """``value``, a name from a config that becomes a folder or file name, when it is one plain name (letters,
    digits, ``.``, ``_``, ``-``); else a one-line :class:`ConfigError` naming ``key``, so that no name leaves
    the output directory."""
    if not re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", value):
        raise ConfigError(f"{key}={value!r} must be a plain name (letters, digits, '.', '_', '-'; no '/' or '..'): "
                          f"it names a folder inside the output")
    return value


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary local path beside ``path`` (``.<name>.tmp-<random>``) for the block to write, so that
    readers never see a partial file: when the block ends without an error the file is synced to disk and
    renamed onto ``path`` (replacing any file there); when it fails the file is removed. The parent directory
    is created."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        with storage_errors(target):
            target.parent.mkdir(parents=True, exist_ok=True)
        with storage_errors(target, only=(tmp, target)), claimed(tmp):
            yield tmp
            with storage_errors(target), open(tmp, "rb") as raw:
                os.fsync(raw.fileno())
                os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):  # never made: the folder is missing
            tmp.unlink()


TEMPORARY = re.compile(r"\.(.+)\.(tmp|old)-[0-9a-f]{8,12}")
"""The names of olmo's temporaries: :func:`atomic_path`'s files and checkpoints' staging directories
(``.<name>.tmp-<hex>``), checkpoints being replaced (``.<name>.old-<hex>``)."""


@contextlib.contextmanager
def claimed(path: Path, *, folder: bool = False) -> Iterator[None]:
    """Create ``path`` (a file, or a directory with ``folder``) and hold a shared lock on it while it is written,
    so that :func:`remove_temporaries` (in another run over the same output) leaves it alone."""
    while True:  # again when remove_temporaries removed it before it was locked
        if folder:
            path.mkdir(exist_ok=True)
        try:
            fd = os.open(path, os.O_RDONLY | (0 if folder else os.O_CREAT), 0o644)
        except FileNotFoundError:
            if folder:
                continue
            raise  # no parent folder
        fcntl.flock(fd, fcntl.LOCK_SH)
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        os.close(fd)
    try:
        yield
    finally:
        os.close(fd)


def remove_temporaries(root: str) -> list[str]:
    """Remove under the local directory ``root`` the temporaries (:data:`TEMPORARY`) that killed runs left and
    no process holds (see :func:`claimed`): partial files and checkpoint directories. A checkpoint killed while
    it was being replaced (``.<name>.old-<hex>`` with no ``<name>``) is renamed back instead. Returns the paths
    removed."""
    fs, path = url_to_fs(root)
    if not is_local(fs) or not os.path.isdir(path):
        return []
    removed = []
    for parent, dirs, files in os.walk(path):
        found = sorted(n for n in dirs + files if TEMPORARY.fullmatch(n))
        dirs[:] = [d for d in dirs if d not in found]
        for name in found:
            if _unclaimed_removed(os.path.join(parent, name)):
                removed.append(os.path.join(parent, name))
    if removed:
        log.info("removed %d temporaries left by an interrupted run under %s", len(removed), root)
    return removed


def _unclaimed_removed(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        match = TEMPORARY.fullmatch(os.path.basename(path))
        final = os.path.join(os.path.dirname(path), match[1]) if match else path
        if match and match[2] == "old" and not os.path.lexists(final):
            os.rename(path, final)
            log.warning("restored %s, which a run killed while replacing it left as %s", final, path)
            return False
        shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
        return True
    except OSError:  # held by a run that is writing it
        return False
    finally:
        os.close(fd)


class StorageError(OlmoError, OSError):
    """An OS error (disk full, permission denied, a file where a folder should be) that names its path."""


@contextlib.contextmanager
def storage_errors(target: str | os.PathLike[str], only: tuple[Path, ...] = ()) -> Iterator[None]:
    """Turn an OS error raised while writing ``target`` into a one-line :class:`StorageError` that names the path
    it failed on (the error's own path, or else ``target``). With ``only``, just the errors on those paths or on
    storage (disk full, read-only); any other (a connection lost by a source that streams in) passes unchanged."""
    try:
        yield
    except OSError as exc:
        if isinstance(exc, StorageError) or (only and exc.filename not in {str(p) for p in only}
                                             and exc.errno not in _STORAGE_ERRORS):
            raise
        failed = exc.filename if exc.filename is not None and ".tmp-" not in str(exc.filename) else target
        raise StorageError(f"{failed}: {exc.strerror or exc}") from exc


_STORAGE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


@contextlib.contextmanager
def staged_path(url: str) -> Iterator[Path]:
    """A local path for the block to write the file ``url`` through, so that readers never see a partial file.

    On the local disk it is :func:`atomic_path`'s temporary beside the target, renamed onto it. Elsewhere
    (``s3://``, ``memory://`` ...) it is a scratch file in the system's temporary directory, named at random
    (never after ``url``), uploaded to ``url`` in one piece when the block ends without an error. Either way a
    block that fails leaves nothing at ``url`` and no temporary behind.
    """
    fs, path = url_to_fs(url)
    if is_local(fs):
        with atomic_path(path) as tmp:
            yield tmp
        return
    fd, scratch = tempfile.mkstemp(prefix="olmo-upload-")
    os.close(fd)
    try:
        yield Path(scratch)
        with storage_errors(url):
            if posixpath.dirname(path):
                fs.makedirs(posixpath.dirname(path), exist_ok=True)
            fs.put_file(scratch, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(scratch)


@contextlib.contextmanager
def open_atomic(url: str, mode: str = "wb", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open ``url`` (a local path or any fsspec URL) for writing so that readers never see a partial file.

    The data goes to :func:`staged_path`'s local file, which becomes ``url`` when the block ends without an
    error (renamed on a local disk, uploaded elsewhere) and is removed when it fails. ``compression="infer"``
    compresses by the target's suffix. gzip is written by ISA-L (``isal``, at :data:`GZIP_LEVEL`: many times
    faster than zlib's default level, files about 15% larger) and carries no timestamp, so the same content always
    gives the same bytes, wherever they are stored; any gzip reader reads it (fsspec reads gzip through ISA-L too).
    """
    compression = kwargs.pop("compression", None)
    if compression == "infer":
        compression = infer_compression(url_to_fs(url)[1])
    with staged_path(url) as tmp:
        if compression == "gzip":
            with open(tmp, "wb") as raw, igzip.IGzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                         compresslevel=GZIP_LEVEL) as gz:
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


@contextlib.contextmanager
def local_directory(url: str) -> Iterator[str]:
    """A local directory for the block to write files into that end up under ``url``: ``url`` itself on the local
    disk (created), else a scratch directory in the system's temporary directory (never named after ``url``)
    whose contents are uploaded to ``url`` when the block ends without an error, and removed in any case."""
    fs, path = url_to_fs(url)
    if is_local(fs):
        fs.makedirs(path, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="olmo-upload-") as tmp:
        yield tmp
        with storage_errors(url):
            fs.put(tmp.rstrip("/") + "/", path.rstrip("/") + "/", recursive=True)


def is_local(fs: fsspec.AbstractFileSystem) -> bool:
    """Whether ``fs`` is the local disk."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return "file" in protocols or "local" in protocols


def write_text(url: str, text: str) -> None:
    """Write ``text`` to ``url`` atomically (see :func:`open_atomic`)."""
    with open_atomic(url, "w", encoding="utf-8") as f:
        f.write(text)
