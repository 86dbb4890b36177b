"""Mixing: how much of each source goes into the training corpus."""

from olmo_data.mixing.mixers import FactorsConfig, Mixer, ProportionsConfig, copies, unit_hash

__all__ = ["FactorsConfig", "Mixer", "ProportionsConfig", "copies", "unit_hash"]
