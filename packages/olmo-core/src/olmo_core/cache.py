"""The verified cache: every entry is addressed by what it was made from and checked by its own hash when read.

Everything olmo caches lives under :func:`cache_dir` (``$OLMO_CACHE``, default ``~/.cache/olmo``): registry
archives (``packages/``), files extracted from them (``extracted/``), DPO reference log-probs
(``dpo-reference/``) and the document counts of the built-in sources (``source-counts/``).

An entry is one file. Its *key* is a hash of what it was made from (:func:`key_of`); its *content hash* is the
sha256 of its bytes. Both are recorded beside it, in ``.<name>.verified.json``, when it is written (the data
goes to a temporary name and is renamed into place, so an entry is complete or absent). A pinned archive needs
no record: its pin is its content hash. Reading an entry checks both (:func:`lookup`, once per process for an
unchanged file); an entry that does not match is named on stderr and discarded, then rebuilt when the caller
has a builder (:func:`cached_file`). A folder of entries (an extracted tree) is held by a manifest of its files'
hashes (:func:`write_tree`, :func:`verify_tree`).

An entry that cannot be discarded fails with a :class:`CacheError` in one line naming the folder to delete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fsspec.core import url_to_fs

from olmo_core.errors import OlmoError
from olmo_core.io import atomic_path, is_local, sha256_file

__all__ = ["CacheError", "cache_dir", "cached_file", "clear_hint", "content_key", "file_sha256", "file_signature",
           "forget", "key_of", "lookup", "record_path", "store", "url_sha256", "verify_tree", "write_tree"]

log = logging.getLogger(__name__)

_RECORD_VERSION = 1


class CacheError(OlmoError):
    """A cache entry does not match its recorded hash and could not be discarded or rebuilt; the message names
    the file and the folder to delete."""


def cache_dir() -> Path:
    """Where olmo caches: ``$OLMO_CACHE`` or ``~/.cache/olmo`` (``$XDG_CACHE_HOME/olmo``)."""
    if os.environ.get("OLMO_CACHE"):
        return Path(os.environ["OLMO_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "olmo"


def clear_hint(path: Path) -> str:
    """``delete <folder> to clear it``: the top folder of ``path`` inside the cache (or its parent)."""
    root = cache_dir()
    try:
        relative = path.resolve().relative_to(root.resolve())
        folder = root / relative.parts[0] if len(relative.parts) > 1 else path
    except ValueError:
        folder = path.parent
    return f"delete {folder} to clear it"


def key_of(*parts: object) -> str:
    """The sha256 of ``parts`` (JSON, keys sorted): the address of what an entry is made from."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# path -> (stat signature, sha256): a file is hashed once per process while it stays unchanged.
_HASHED: dict[str, tuple[tuple[int, ...], str]] = {}


def file_signature(path: Path) -> tuple[int, ...]:
    """What changes whenever a file is written: device, inode, size, modification and change times (the
    change time moves on any write and cannot be set back)."""
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def file_sha256(path: Path) -> str:
    """The sha256 of the file's bytes, computed once per process while the file stays unchanged (same inode,
    size, modification and change times)."""
    key = os.path.abspath(path)
    signature = file_signature(path)
    known = _HASHED.get(key)
    if known is not None and known[0] == signature:
        return known[1]
    _HASHED[key] = (signature, sha256_file(path))
    return _HASHED[key][1]


def url_sha256(url: str) -> str:
    """The sha256 of the bytes of ``url``: a local file through :func:`file_sha256`, any other fsspec URL
    streamed."""
    fs, path = url_to_fs(url)
    if is_local(fs):
        return file_sha256(Path(path))
    with fs.open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def content_key(files: Iterable[str], *config: object) -> str:
    """The key of work made from the content of ``files`` (in order; not their names) with ``config``: what a job
    that skips work on a rerun records in its output and compares (size and modification time are not
    identity)."""
    return key_of([url_sha256(file) for file in files], *config)


def remember(path: Path, sha256: str) -> None:
    """Record that ``path`` (as it is now) has ``sha256``, which the caller has just computed."""
    _HASHED[os.path.abspath(path)] = (file_signature(path), sha256)


def forget() -> None:
    """Forget the hashes computed in this process (the next read of each entry hashes it again)."""
    _HASHED.clear()


def record_path(path: Path) -> Path:
    """The record of an entry: its key and content hash, beside it as ``.<name>.verified.json``."""
    return path.with_name(f"{'' if path.name.startswith('.') else '.'}{path.name}.verified.json")


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(record_path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _problem(path: Path, key: str | None, sha256: str | None) -> tuple[str, bool] | None:
    """Why ``path`` is not a valid entry (and whether that is worth reporting), or ``None`` when it is."""
    if not path.is_file():
        return "missing", False
    record = _read_record(path)
    if sha256 is None:
        if record is None:
            return "has no record of its hash", False  # written before entries were recorded: rebuilt quietly
        if key is not None and record.get("key") != key:
            return "was made from other inputs", False
        sha256 = record.get("sha256")
    elif key is not None and record is not None and record.get("key") not in (None, key):
        return "was made from other inputs", False
    actual = file_sha256(path)
    if actual != sha256:
        return f"has sha256 {actual[:12]}..., expected {str(sha256)[:12]}... (corrupted or edited)", True
    return None


def _discard(path: Path, reason: str) -> None:
    try:
        path.unlink(missing_ok=True)
        record_path(path).unlink(missing_ok=True)
    except OSError as exc:
        raise CacheError(f"cache entry {path} {reason} and could not be removed ({exc.strerror}): "
                         f"{clear_hint(path)}") from None


def lookup(path: Path, *, key: str | None = None, sha256: str | None = None, discard: bool = True,
           rebuilding: bool = False) -> Path | None:
    """``path`` when it is a valid entry: its bytes have ``sha256`` (a pin) or the hash recorded when it was
    written, and it was made from ``key``. Otherwise ``None``; an entry that does not match its hash is named on
    stderr and (with ``discard``) deleted."""
    problem = _problem(path, key, sha256)
    if problem is None:
        return path
    reason, report = problem
    if report:
        action = "rebuilding it" if rebuilding else "discarded" if discard else "not used"
        log.warning(f"cache entry {path} {reason}: {action}")
    if report and discard and not rebuilding:
        _discard(path, reason)
    return None


def store(path: Path, write: bytes | Callable[[Path], object], *, key: str | None = None,
          sha256: str | None = None) -> Path:
    """Write the entry ``path`` atomically (``write`` is its bytes or a function that writes a given path) and
    record its key and content hash; with ``sha256`` (a pin) the bytes must have that hash."""
    with atomic_path(path) as partial, atomic_path(record_path(path)) as partial_record:  # record renamed first
        if isinstance(write, bytes):
            partial.write_bytes(write)
        else:
            write(partial)
        digest = file_sha256(partial)
        if sha256 is not None and digest != sha256:
            raise CacheError(f"the new cache entry {path} has sha256 {digest}, expected {sha256}: nothing was "
                             f"cached")
        partial_record.write_text(json.dumps({"version": _RECORD_VERSION, "key": key, "sha256": digest}) + "\n",
                                  encoding="utf-8")
    remember(path, digest)
    return path


def cached_file(path: Path, build: Callable[[Path], object], *, key: str | None = None,
                sha256: str | None = None) -> Path:
    """The valid entry ``path`` (see :func:`lookup`), built with ``build(temporary path)`` and stored when it is
    missing, stale or corrupted (a corrupted entry is named on stderr and replaced)."""
    found = lookup(path, key=key, sha256=sha256, rebuilding=True)
    return found if found is not None else store(path, build, key=key, sha256=sha256)


def write_tree(manifest: Path, root: Path, names: Iterable[str], *, key: str) -> dict[str, str]:
    """Record the files ``root / name`` (already in place) in the manifest ``manifest``, stored as an entry with
    ``key``: ``{name: sha256}`` in the order given."""
    files = {name: file_sha256(root / name) for name in names}
    store(manifest, json.dumps({"key": key, "files": files}).encode("utf-8"), key=key)
    return files


def verify_tree(manifest: Path, root: Path, *, key: str, discard: bool = True) -> dict[str, str] | None:
    """The files of the tree under ``root`` recorded in ``manifest`` (``{name: sha256}``) when the manifest is a
    valid entry made from ``key`` and every file still has its hash (each file hashed once per process);
    otherwise ``None``, after naming the first file that does not match on stderr (and, with ``discard``,
    deleting the manifest, so that the tree is rebuilt)."""
    if lookup(manifest, key=key, discard=discard) is None:
        return None
    try:
        files = json.loads(manifest.read_bytes())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        files = None
    if not isinstance(files, dict):
        if discard:
            _discard(manifest, "is not a manifest")
        return None
    for name, expected in files.items():
        path = root / name
        if not path.is_file():
            problem = "is missing"
        elif (actual := file_sha256(path)) != expected:
            problem = f"has sha256 {actual[:12]}..., expected {str(expected)[:12]}... (corrupted or edited)"
        else:
            continue
        action = "extracting it again" if discard else "not used"
        log.warning(f"cached file {path} {problem} (recorded in {manifest.name}): {action}")
        if discard:
            _discard(manifest, problem)
        return None
    return files
