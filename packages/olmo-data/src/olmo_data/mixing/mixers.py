"""Mixers: a sampling factor per source, applied per document by hashing the document's id.

A document of a source with factor ``f`` is written ``floor(f)`` times, plus once more when the hash of its
id (a number in [0, 1)) is below ``f - floor(f)``. So factors above 1 up-sample and below 1 down-sample;
the choice depends only on the document's id and the seed, never on process ids, file order or workers.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from olmo_core.config import non_negative, positive
from olmo_core.errors import ConfigError

__all__ = ["FactorsConfig", "FactorsMixer", "Mixer", "ProportionsConfig", "ProportionsMixer", "copies", "unit_hash"]


def unit_hash(document_id: str, seed: int) -> float:
    """A number in [0, 1) from the document id and the seed (blake2b), the same everywhere."""
    digest = hashlib.blake2b(f"{seed}:{document_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def copies(document_id: str, factor: float, seed: int) -> int:
    """How many times the document is written under ``factor``."""
    whole = math.floor(factor)
    return whole + (1 if unit_hash(document_id, seed) < factor - whole else 0)


class Mixer(Protocol):
    """Decides a factor per source from each source's size (in the mixer's unit)."""

    seed: int

    def factors(self, sizes: Mapping[str, int]) -> dict[str, float]:
        """Sampling factor of every source in ``sizes``."""
        ...


@dataclass(kw_only=True)
class FactorsConfig:
    """Up- or down-sample sources by fixed factors."""

    factors: dict[str, float] = field(default_factory=dict)
    """Factor per source (``{wikipedia: 2.0, spam-assassin: 0.5}``); sources not named keep ``default``."""
    default: float = non_negative(1.0)
    """Factor of the sources not named."""
    seed: int = 0
    """Seed of the per-document choice."""


class FactorsMixer:
    """The configured factors as they are."""

    def __init__(self, config: FactorsConfig) -> None:
        self.config, self.seed = config, config.seed

    def factors(self, sizes: Mapping[str, int]) -> dict[str, float]:
        unknown = sorted(set(self.config.factors) - set(sizes))
        if unknown:
            raise ConfigError(f"factors name sources that the input does not have: {', '.join(unknown)} "
                              f"(it has {', '.join(sorted(sizes))})")
        factors = {s: float(self.config.factors.get(s, self.config.default)) for s in sizes}
        for source, factor in factors.items():
            if factor < 0:
                raise ConfigError(f"the factor of {source} is {factor}: factors must be 0 or more")
        return factors


@dataclass(kw_only=True)
class ProportionsConfig:
    """Reach target shares of the mix per source (by size), sampling up or down as needed."""

    proportions: dict[str, float] = field(default_factory=dict)
    """Target share per source, 0 or more, summing to 1 (within 1e-6). Sources not named are left out."""
    total: int | None = positive(None)
    """Size of the mix (in the command's unit); default: the size of the input's named sources."""
    seed: int = 0
    """Seed of the per-document choice."""

    def __post_init__(self) -> None:
        total = sum(self.proportions.values())
        if self.proportions and (abs(total - 1) > 1e-6 or min(self.proportions.values()) < 0):
            raise ConfigError(f"mixer.proportions={dict(self.proportions)} must be shares of 0 or more that sum "
                              f"to 1 (they sum to {total:g})")


class ProportionsMixer:
    """Factors that give each source its share: ``factor = share * total / size``."""

    def __init__(self, config: ProportionsConfig) -> None:
        self.config, self.seed = config, config.seed

    def factors(self, sizes: Mapping[str, int]) -> dict[str, float]:
        wanted = self.config.proportions
        if not wanted:
            raise ConfigError("the proportions mixer needs proportions, e.g. mixer.proportions={c4: 0.5, wikipedia: 0.5}")
        missing = sorted(s for s in wanted if not sizes.get(s))
        if missing:
            raise ConfigError(f"mixer.proportions name sources that the input does not have (or that are empty): "
                              f"{', '.join(missing)} (it has {', '.join(sorted(sizes))})")
        total = self.config.total if self.config.total is not None else sum(sizes[s] for s in wanted)
        return {s: wanted.get(s, 0.0) * total / sizes[s] if s in wanted else 0.0 for s in sizes}
