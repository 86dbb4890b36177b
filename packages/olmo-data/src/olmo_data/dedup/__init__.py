"""Deduplication: exact (text digest, URL), Bloom-filter paragraphs and MinHash near-duplicates.

Each deduper computes per-document features in parallel, then decides in corpus order (the first occurrence
is kept), and writes Dolma attributes that ``olmo data filter`` drops or masks by. See :mod:`.base`.
"""

from __future__ import annotations

from olmo_data.dedup.base import DedupContext, Deduper, DocumentRef, Marks
from olmo_data.dedup.bloom import BloomConfig, BloomDeduper
from olmo_data.dedup.bloomfilter import ParagraphFilter, bloom_parameters, false_positive_rate
from olmo_data.dedup.exact import ExactConfig, ExactDeduper
from olmo_data.dedup.minhash import MinHashConfig, MinHashDeduper

__all__ = ["BloomConfig", "BloomDeduper", "DedupContext", "Deduper", "DocumentRef", "ExactConfig", "ExactDeduper",
           "Marks", "MinHashConfig", "MinHashDeduper", "ParagraphFilter", "bloom_parameters",
           "false_positive_rate"]
