"""Registration of the dedupers (``exact``, ``bloom``, ``minhash``)."""

from __future__ import annotations

from olmo_core.registry import Register

from olmo_data.dedup.bloom import BloomConfig, BloomDeduper
from olmo_data.dedup.exact import ExactConfig, ExactDeduper
from olmo_data.dedup.minhash import MinHashConfig, MinHashDeduper

__all__ = ["register_dedupers"]


def register_dedupers(register: Register) -> None:
    """Register the built-in dedupers through an ``olmo_register_dedupers`` callback."""
    register("exact", ExactDeduper, config=ExactConfig,
             help="documents whose text digest or URL an earlier document has (first occurrence kept)")
    register("bloom", BloomDeduper, config=BloomConfig,
             help="paragraphs seen before, in a persistent Bloom filter (Dolma's bff paragraph mode)")
    register("minhash", MinHashDeduper, config=MinHashConfig,
             help="near-duplicate documents by MinHash LSH over word shingles (datatrove's defaults)")

