"""A Bloom filter of 128-bit digests, held as a numpy bit array, checked and filled a batch at a time, and saved to a
file with the settings that made its digests.

Sizing, for ``n`` expected items and a target false-positive rate ``p`` (in float64)::

    m~   = -n * ln(p) / ln(2)^2            the optimal number of bits
    bits = 8 * ceil(floor(m~) / 8)          whole bytes
    k    = floor(m~ / n * ln(2))            bit positions per item, about floor(log2(1/p))

An item is a 16-byte digest read as two little-endian 64-bit integers ``h1, h2``; its positions are
``(h1 + i * h2) mod bits`` for ``i = 0 .. k-1`` (double hashing, wrapping 64-bit arithmetic). After ``i`` distinct
items have been added, a new item is taken for a seen one with probability ``(1 - exp(-k * i / bits)) ** k``,
which is about ``p`` at ``i = n`` (slightly above it, since ``k`` is rounded down) and grows quickly past it.

:meth:`ParagraphFilter.check_and_add` takes a whole batch of digests at once and answers exactly what checking and
adding them one at a time, in order, would answer: an item is seen when all its bits were set before the batch or
by earlier items of the batch (an item that is seen adds no bit, so the bits after item ``j`` are those before the
batch and those of items ``0..j``). So the answers do not depend on how the items are batched.

File format: the line ``OLMO-BLOOM 2``, one line of JSON (sorted keys: sizing, item count and the hashing settings),
then the bit array's bytes (bit ``b`` is bit ``b % 8`` of byte ``b // 8``). The same items added in the same order
give the same file.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from olmo_core.errors import ConfigError
from olmo_core.io import open_atomic, open_file

__all__ = ["DIGEST_BYTES", "ParagraphFilter", "as_digests", "bloom_parameters", "false_positive_rate"]

_MAGIC = b"OLMO-BLOOM 2\n"
_OLD_MAGIC = b"OLMO-BLOOM 1\n"
DIGEST_BYTES = 16
"""Bytes of one item: a 128-bit digest."""


def bloom_parameters(expected_items: int, rate: float) -> tuple[int, int]:
    """``(bits, hashes)`` of a filter sized for ``expected_items`` at false-positive ``rate`` (see above)."""
    if expected_items < 1:
        raise ConfigError(f"a Bloom filter needs expected items >= 1, not {expected_items}")
    if not 0.0 < rate <= 0.5:
        raise ConfigError(f"a Bloom filter's false-positive rate must be in (0, 0.5], not {rate}")
    ideal = -expected_items * math.log(rate) / math.log(2) ** 2
    return 8 * math.ceil(int(ideal) / 8), max(1, int(ideal / expected_items * math.log(2)))


def false_positive_rate(bits: int, hashes: int, items: int) -> float:
    """The probability that an unseen item is reported as seen once ``items`` distinct items are in."""
    return (1.0 - math.exp(-hashes * items / bits)) ** hashes


def as_digests(data: bytes) -> np.ndarray:
    """Joined 16-byte digests as an ``(n, 2)`` array of little-endian uint64 halves."""
    if len(data) % DIGEST_BYTES:
        raise ValueError(f"{len(data)} bytes are not whole {DIGEST_BYTES}-byte digests")
    return np.frombuffer(data, dtype="<u8").reshape(-1, 2)


class ParagraphFilter:
    """A persistent Bloom filter over 128-bit digests (see the module's docstring for the layout and the rule).

    ``settings`` describe how the digests were made (normalization, minimum length ...); a filter loaded from a
    file keeps them so that a later run can refuse one made differently.
    """

    def __init__(self, expected_items: int, rate: float, settings: dict[str, Any]) -> None:
        self.bits, self.hashes = bloom_parameters(expected_items, rate)
        self.expected_items, self.rate = expected_items, rate
        self.settings = dict(settings)
        self.items = 0
        """Distinct items added (an item reported as seen is not added again)."""
        self._array = np.zeros(self.bits // 8, dtype=np.uint8)
        self._steps = np.arange(self.hashes, dtype=np.uint64)

    def _positions(self, digests: np.ndarray) -> np.ndarray:
        """The ``(n, hashes)`` bit positions of ``digests``."""
        with np.errstate(over="ignore"):
            mixed = digests[:, :1] + self._steps * digests[:, 1:]
        return mixed % np.uint64(self.bits)

    def _get(self, positions: np.ndarray) -> np.ndarray:
        return ((self._array[positions >> np.uint64(3)] >> (positions & np.uint64(7)).astype(np.uint8)) & 1) \
            .astype(bool)

    def _set(self, positions: np.ndarray) -> None:
        np.bitwise_or.at(self._array, positions >> np.uint64(3),
                         np.left_shift(1, positions & np.uint64(7)).astype(np.uint8))

    def check(self, digests: np.ndarray) -> np.ndarray:
        """For each digest (rows of :func:`as_digests`), whether the filter holds it; nothing is added."""
        if not len(digests):
            return np.zeros(0, dtype=bool)
        found: np.ndarray = self._get(self._positions(digests)).all(axis=1)
        return found

    def check_and_add(self, digests: np.ndarray) -> np.ndarray:
        """For each digest in order, whether it was seen (held before, or equal in its bits to earlier digests of
        the batch); the others are added. Equal to checking and adding them one at a time."""
        count = len(digests)
        if not count:
            return np.zeros(0, dtype=bool)
        positions = self._positions(digests)
        held = self._get(positions)
        seen = held.all(axis=1)
        fresh = np.flatnonzero(~seen)
        if fresh.size:
            unset = ~held[fresh]
            owners = np.broadcast_to(fresh[:, None], unset.shape)[unset]
            where = positions[fresh][unset]
            order = np.argsort(where, kind="stable")  # stable: for one bit, the earliest item first
            where, owners = where[order], owners[order]
            first = np.ones(where.size, dtype=bool)
            first[1:] = where[1:] != where[:-1]
            setter = owners[np.flatnonzero(first)[np.cumsum(first) - 1]]
            sets_own_bit = np.zeros(count, dtype=bool)
            sets_own_bit[owners[setter == owners]] = True
            seen[fresh] = ~sets_own_bit[fresh]
            self._set(where[first])
            self.items += int(sets_own_bit.sum())
        return seen

    def add(self, digests: np.ndarray) -> None:
        """Add ``digests`` (counting only those not already held)."""
        self.check_and_add(digests)

    def false_positive_rate(self) -> float:
        """The expected false-positive rate at the current number of items."""
        return false_positive_rate(self.bits, self.hashes, self.items)

    def header(self) -> dict[str, Any]:
        """The JSON header saved with the filter."""
        return {"bits": self.bits, "hashes": self.hashes, "expected_items": self.expected_items,
                "false_positive_rate": self.rate, "items": self.items, "settings": self.settings}

    def to_bytes(self) -> bytes:
        """The filter as a file's bytes."""
        header = json.dumps(self.header(), sort_keys=True).encode("utf-8")
        return _MAGIC + header + b"\n" + self._array.tobytes()

    def save(self, url: str) -> None:
        """Write the filter to ``url`` atomically."""
        with open_atomic(url, "wb") as f:
            f.write(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "<bytes>") -> ParagraphFilter:
        """Rebuild a filter saved by :meth:`to_bytes`."""
        if data.startswith(_OLD_MAGIC):
            raise ConfigError(f"{where} is a Bloom filter of an earlier olmo (BLAKE2b hashes in rbloom's layout): "
                              f"build it again with this version")
        if not data.startswith(_MAGIC):
            raise ConfigError(f"{where} is not a Bloom filter file written by olmo (it lacks the OLMO-BLOOM header)")
        line, _, payload = data[len(_MAGIC):].partition(b"\n")
        header = json.loads(line)
        loaded = cls(header["expected_items"], header["false_positive_rate"], header["settings"])
        if loaded.bits != header["bits"] or len(payload) != loaded.bits // 8:
            raise ConfigError(f"{where} is damaged: {len(payload) * 8} bits, header says {header['bits']}")
        loaded._array = np.frombuffer(payload, dtype=np.uint8).copy()
        loaded.items = header["items"]
        return loaded

    @classmethod
    def load(cls, url: str) -> ParagraphFilter:
        """Read a filter saved by :meth:`save`."""
        with open_file(url, "rb") as f:
            return cls.from_bytes(f.read(), url)

    def check_settings(self, settings: dict[str, Any], where: str) -> None:
        """Raise a :class:`ConfigError` when ``settings`` differ from those the filter's digests were made with."""
        differ = sorted(k for k in set(settings) | set(self.settings) if settings.get(k) != self.settings.get(k))
        if differ:
            found = ", ".join(f"{k}={self.settings.get(k)!r}" for k in differ)
            wanted = ", ".join(f"{k}={settings.get(k)!r}" for k in differ)
            raise ConfigError(f"the Bloom filter {where} was made with {found}, this run uses {wanted}: "
                              f"use the same settings or build a new filter")
