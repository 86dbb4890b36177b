from __future__ import annotations

import hashlib

import pytest

from olmo_core.errors import ConfigError
from olmo_data.mixing.mixers import FactorsConfig, FactorsMixer, ProportionsConfig, ProportionsMixer, copies, unit_hash


def test_unit_hash_is_blake2b_of_seed_and_id() -> None:
    expected = int.from_bytes(hashlib.blake2b(b"7:wiki-1", digest_size=8).digest(), "big") / 2**64
    assert unit_hash("wiki-1", 7) == expected and 0 <= expected < 1
    assert unit_hash("wiki-1", 8) != expected


@pytest.mark.parametrize("factor", [0.0, 0.3, 1.0, 2.5])
def test_copies_average_the_factor(factor: float) -> None:
    counts = [copies(f"doc-{i}", factor, seed=0) for i in range(20_000)]
    assert set(counts) <= {int(factor), int(factor) + 1}
    assert sum(counts) / len(counts) == pytest.approx(factor, abs=0.015)


def test_factors_mixer() -> None:
    mixer = FactorsMixer(FactorsConfig(factors={"c4": 2.0, "mail": 0.0}, default=0.5))
    assert mixer.factors({"c4": 10, "mail": 5, "wiki": 7}) == {"c4": 2.0, "mail": 0.0, "wiki": 0.5}
    with pytest.raises(ConfigError, match="factors name sources that the input does not have: books"):
        FactorsMixer(FactorsConfig(factors={"books": 1.0})).factors({"c4": 10})


def test_proportions_mixer_formula() -> None:
    # target shares 3:1 of a total of 400: c4 gets 300 of its 100 (x3), wiki 100 of its 400 (x0.25)
    mixer = ProportionsMixer(ProportionsConfig(proportions={"c4": 0.75, "wiki": 0.25}, total=400))
    assert mixer.factors({"c4": 100, "wiki": 400, "code": 50}) == {"c4": 3.0, "wiki": 0.25, "code": 0.0}
    default_total = ProportionsMixer(ProportionsConfig(proportions={"c4": 0.5, "wiki": 0.5}))
    assert default_total.factors({"c4": 100, "wiki": 400}) == {"c4": 2.5, "wiki": 0.625}
    with pytest.raises(ConfigError, match="needs proportions"):
        ProportionsMixer(ProportionsConfig()).factors({"c4": 1})


@pytest.mark.parametrize("proportions, message", [
    ({"wikipedia": 0.7, "pydocs": 0.7}, r"mixer.proportions=\{'wikipedia': 0.7, 'pydocs': 0.7\} must be shares of 0 or "
                                        r"more that sum to 1 \(they sum to 1.4\)"),
    ({"c4": 1.5, "wiki": -0.5}, r"\(they sum to 1\)"),
])
def test_proportions_must_be_shares_that_sum_to_one(proportions: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ProportionsConfig(proportions=proportions)
    ProportionsConfig(proportions={"c4": 0.1 + 0.2, "wiki": 0.7})  # 1.0000000000000002: within 1e-6
    with pytest.raises(ConfigError, match="mixer.proportions name sources that the input does not have .*: books"):
        ProportionsMixer(ProportionsConfig(proportions={"books": 1.0})).factors({"c4": 10})
