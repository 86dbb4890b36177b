"""The core helper behind every cache entry: keyed, hashed when written (atomically), verified when read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from olmo_core.errors import OlmoError


def test_entries_are_written_atomically_keyed_and_verified(olmo_cache: Path, caplog: Any) -> None:
    from olmo_core import cache

    path = olmo_cache / "things" / "a.bin"
    key = cache.key_of("made from", 1, {"b": 2})
    assert key == cache.key_of("made from", 1, {"b": 2}) != cache.key_of("made from", 2, {"b": 2})
    assert cache.lookup(path, key=key) is None
    cache.store(path, b"payload", key=key)
    assert sorted(p.name for p in path.parent.iterdir()) == [".a.bin.verified.json", "a.bin"]  # no temp files
    assert cache.lookup(path, key=key) == path
    assert cache.lookup(path, key=cache.key_of("other inputs")) is None  # stale: made from something else
    built: list[Path] = []
    assert cache.cached_file(path, lambda p: built.append(p), key=key) == path and not built
    path.write_bytes(b"payload!")  # edited (another size: no clock tick needed)
    caplog.clear()
    assert cache.cached_file(path, lambda p: p.write_bytes(b"payload"), key=key).read_bytes() == b"payload"
    assert f"cache entry {path} has sha256" in caplog.text


def test_entry_that_cannot_be_discarded_fails_in_one_line_naming_the_folder(
        olmo_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from olmo_core import cache

    path = olmo_cache / "source-counts" / "x.json"
    cache.store(path, b"{}", key="k")
    path.write_bytes(b"[1]")

    def read_only(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "unlink", read_only)
    with pytest.raises(OlmoError) as raised:
        cache.lookup(path, key="k")
    message = str(raised.value)
    assert "\n" not in message and str(path) in message
    assert message.endswith(f"could not be removed (Permission denied): delete {olmo_cache / 'source-counts'} "
                            f"to clear it")
