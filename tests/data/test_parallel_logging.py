"""Worker processes' log records reach the parent's handlers (stderr, ``log.txt``), however workers start."""

from __future__ import annotations

import logging
import multiprocessing

import pytest

from olmo_data.parallel import map_shards

log = logging.getLogger("olmo_data.tests")


def _square(shard: int) -> int:
    if shard % 2:
        log.warning("shard %d is odd", shard)
    log.debug("squared %d", shard)  # below the parent's level: not sent
    return shard * shard


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_a_workers_warning_reaches_the_parent(method: str, caplog: pytest.LogCaptureFixture,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} here")
    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: [method])
    assert list(map_shards(_square, [0, 1, 2, 3], workers=2)) == [0, 1, 4, 9]
    assert sorted(r.getMessage() for r in caplog.records if r.name == "olmo_data.tests") == [
        "shard 1 is odd", "shard 3 is odd"]
