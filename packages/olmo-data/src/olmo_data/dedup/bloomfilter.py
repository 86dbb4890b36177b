"""A Bloom filter of 128-bit hashes (rbloom) that is saved to a file with the settings that made its hashes.

Sizing, for ``n`` expected items and a target false-positive rate ``p`` (rbloom's rule, in float64)::

    m~   = -n * ln(p) / ln(2)^2            the optimal number of bits
    bits = 8 * ceil(floor(m~) / 8)          whole bytes
    k    = floor(m~ / n * ln(2))            hash functions, about floor(log2(1/p))

After ``i`` distinct items have been added, a new item is taken for a seen one with probability
``(1 - exp(-k * i / bits)) ** k``, which is about ``p`` at ``i = n`` (slightly above it, since ``k`` is
rounded down) and grows quickly past it.

File format: the line ``OLMO-BLOOM 1``, one line of JSON (sorted keys: sizing, item count and the hashing
settings), then rbloom's own bytes. Items are integers that are already hashes, so the filter's hash function
is the identity and the same items always set the same bits: the same input gives the same file.
"""

from __future__ import annotations

import json
import math
from typing import Any

from olmo_core.errors import ConfigError
from olmo_core.io import open_atomic, open_file

__all__ = ["ParagraphFilter", "bloom_parameters", "false_positive_rate"]

_MAGIC = b"OLMO-BLOOM 1\n"


def bloom_parameters(expected_items: int, rate: float) -> tuple[int, int]:
    """``(bits, hashes)`` of a filter sized for ``expected_items`` at false-positive ``rate`` (see above)."""
    if expected_items < 1:
        raise ConfigError(f"a Bloom filter needs expected items >= 1, not {expected_items}")
    if not 0.0 < rate <= 0.5:
        raise ConfigError(f"a Bloom filter's false-positive rate must be in (0, 0.5], not {rate}")
    ideal = -expected_items * math.log(rate) / math.log(2) ** 2
    return 8 * math.ceil(int(ideal) / 8), int(ideal / expected_items * math.log(2))


def false_positive_rate(bits: int, hashes: int, items: int) -> float:
    """The probability that an unseen item is reported as seen once ``items`` distinct items are in."""
    return (1.0 - math.exp(-hashes * items / bits)) ** hashes


def _identity(value: int) -> int:
    return value


class ParagraphFilter:
    """A persistent Bloom filter over signed 128-bit integer hashes.

    ``settings`` describe how the hashes were made (normalization, minimum length ...); a filter loaded from a
    file keeps them so that a later run can refuse one made differently.
    """

    def __init__(self, expected_items: int, rate: float, settings: dict[str, Any]) -> None:
        from rbloom import Bloom

        self.bits, self.hashes = bloom_parameters(expected_items, rate)
        self.expected_items, self.rate = expected_items, rate
        self.settings = dict(settings)
        self.items = 0
        """Items added (each added once: callers add only what the filter does not already hold)."""
        self._bloom = Bloom(expected_items, rate, _identity)
        if self._bloom.size_in_bits != self.bits:
            raise AssertionError(f"rbloom sized the filter {self._bloom.size_in_bits} bits, not {self.bits}")

    def __contains__(self, item: int) -> bool:
        return item in self._bloom

    def add(self, item: int) -> None:
        """Add ``item`` (count it once: check membership first)."""
        self._bloom.add(item)
        self.items += 1

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
        return _MAGIC + header + b"\n" + self._bloom.save_bytes()

    def save(self, url: str) -> None:
        """Write the filter to ``url`` atomically."""
        with open_atomic(url, "wb") as f:
            f.write(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, where: str = "<bytes>") -> ParagraphFilter:
        """Rebuild a filter saved by :meth:`to_bytes`."""
        from rbloom import Bloom

        if not data.startswith(_MAGIC):
            raise ConfigError(f"{where} is not a Bloom filter file written by olmo (it lacks the OLMO-BLOOM header)")
        line, _, payload = data[len(_MAGIC):].partition(b"\n")
        header = json.loads(line)
        loaded = cls(header["expected_items"], header["false_positive_rate"], header["settings"])
        loaded._bloom = Bloom.load_bytes(payload, _identity)
        loaded.items = header["items"]
        if loaded._bloom.size_in_bits != header["bits"]:
            raise ConfigError(f"{where} is damaged: {loaded._bloom.size_in_bits} bits, header says {header['bits']}")
        return loaded

    @classmethod
    def load(cls, url: str) -> ParagraphFilter:
        """Read a filter saved by :meth:`save`."""
        with open_file(url, "rb") as f:
            return cls.from_bytes(f.read(), url)

    def check_settings(self, settings: dict[str, Any], where: str) -> None:
        """Raise a :class:`ConfigError` when ``settings`` differ from those the filter's hashes were made with."""
        differ = sorted(k for k in set(settings) | set(self.settings) if settings.get(k) != self.settings.get(k))
        if differ:
            found = ", ".join(f"{k}={self.settings.get(k)!r}" for k in differ)
            wanted = ", ".join(f"{k}={settings.get(k)!r}" for k in differ)
            raise ConfigError(f"the Bloom filter {where} was made with {found}, this run uses {wanted}: "
                              f"use the same settings or build a new filter")
