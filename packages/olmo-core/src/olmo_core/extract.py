"""Safe extraction of tar and zip archives: nothing is ever written outside the target folder.

Only regular files (and folders) are extracted. A member with an absolute name, a ``..`` component, a link
(symbolic or hard) or a device, FIFO or other special file is refused with an :class:`UnsafeArchiveError`
naming the archive and the member, before anything is moved into the target. Tar members then go through
Python's ``tarfile`` ``data`` filter (``filter="data"``, Python 3.11.4+) as a second line of defence; zip
members follow the same rules. Members are extracted into a temporary folder inside the target, which is
removed whatever happens, and each file is moved into place with an atomic rename.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from olmo_core.errors import OlmoError

__all__ = ["UnsafeArchiveError", "check_member_name", "extract", "is_zip"]

_HAS_DATA_FILTER = hasattr(tarfile, "data_filter")


class UnsafeArchiveError(OlmoError):
    """An archive member would be written outside the target or is not a plain file; the message names the
    archive and the member."""


def _refuse(archive: str, member: str, reason: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(f"archive {archive}: refused member {member!r}: {reason}; nothing was extracted "
                              f"(delete the archive from the cache if it is not the one you expect)")


def check_member_name(archive: str, name: str) -> None:
    """Refuse a member name that is absolute, has a ``..`` component, is empty, or holds a NUL or a backslash
    (a Windows separator)."""
    if not name or "\x00" in name:
        raise _refuse(archive, name, "empty name or NUL byte in the name")
    if name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute() or (len(name) > 1 and name[1] == ":"):
        raise _refuse(archive, name, "absolute path")
    if "\\" in name:
        raise _refuse(archive, name, "backslash in the name")
    if ".." in PurePosixPath(name).parts:
        raise _refuse(archive, name, "'..' in the path")


def _check_tar(archive: str, info: tarfile.TarInfo) -> None:
    check_member_name(archive, info.name)
    if info.issym() or info.islnk():
        raise _refuse(archive, info.name, f"link to {info.linkname!r}")
    if info.ischr() or info.isblk() or info.isfifo():
        raise _refuse(archive, info.name, "device or FIFO")
    if not (info.isfile() or info.isdir()):
        raise _refuse(archive, info.name, "not a regular file")


def _check_zip(archive: str, info: zipfile.ZipInfo) -> None:
    check_member_name(archive, info.filename)
    mode = info.external_attr >> 16
    if info.create_system == 3 and mode:  # Unix attributes
        if stat.S_ISLNK(mode):
            raise _refuse(archive, info.filename, "symbolic link")
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise _refuse(archive, info.filename, "device, FIFO or other special file")


def is_zip(path: Path) -> bool:
    """Whether ``path`` is read as a zip archive (wheels and ``.zip`` files); everything else is a tarball."""
    return path.suffix in (".whl", ".zip")


def _inside(root: Path, path: Path) -> bool:
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, os.path.realpath(path)]) == real_root


def extract(archive: Path, target: Path, select: Callable[[str], str | None], *, name: str | None = None) -> list[str]:
    """Extract the regular files of ``archive`` that ``select`` keeps into ``target``: ``select(member name)``
    is the name the file gets under ``target`` (itself checked like a member name), or ``None`` to skip the
    member. Returns the names written, in archive order. Every kept member is checked first (see the module);
    an unsafe one raises :class:`UnsafeArchiveError` with ``name`` (default: the archive's path) and leaves
    ``target`` as it was. A name that appears twice keeps its last copy."""
    label = name or str(archive)
    target.mkdir(parents=True, exist_ok=True)
    staging = target / f".extract-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        written: dict[str, Path] = {}
        if is_zip(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    out = select(info.filename)
                    if out is None:
                        continue
                    _check_zip(label, info)
                    if info.is_dir():
                        continue
                    check_member_name(label, out)
                    staged = staging / f"{len(written):08d}"
                    with zf.open(info) as source, open(staged, "wb") as sink:
                        shutil.copyfileobj(source, sink)
                    written.pop(out, None)
                    written[out] = staged
        else:
            with tarfile.open(archive) as tf:
                for info in tf:
                    out = select(info.name)
                    if out is None:
                        continue
                    _check_tar(label, info)
                    if info.isdir():
                        continue
                    check_member_name(label, out)
                    if _HAS_DATA_FILTER:
                        try:
                            tf.extract(info, staging, filter="data")
                        except tarfile.FilterError as exc:
                            raise _refuse(label, info.name, str(exc)) from None
                        staged = staging / info.name
                    else:  # Python before 3.11.4: the checks above are the filter
                        staged = staging / f"{len(written):08d}"
                        source = tf.extractfile(info)
                        assert source is not None
                        with source, open(staged, "wb") as sink:
                            shutil.copyfileobj(source, sink)
                    written.pop(out, None)
                    written[out] = staged
        checked: set[Path] = set()
        for out, staged in written.items():
            final = target / out
            if final.parent not in checked:  # a folder already in the target may be a link out of it
                final.parent.mkdir(parents=True, exist_ok=True)
                if not _inside(target, final.parent):
                    raise _refuse(label, out, f"its folder leads outside {target}")
                checked.add(final.parent)
            staged.replace(final)
        return list(written)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
