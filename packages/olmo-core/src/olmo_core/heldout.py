"""The held-out evaluation slice of the built-in sources, decided by document id alone.

A document is held out when the first 8 bytes of the BLAKE2b digest of its id (UTF-8), read as a big-endian
integer, fall below ``fraction`` of 2**64. olmo-data's built-in sources leave these documents out of what
they yield for training, and olmo-eval's perplexity sets read exactly them, so evaluation text never enters
a training corpus built from the same sources.
"""

from __future__ import annotations

import hashlib

__all__ = ["HELD_OUT_FRACTION", "HELD_OUT_SPLITS", "in_split", "is_held_out"]

HELD_OUT_FRACTION = 0.05
"""The share of every built-in source kept for evaluation."""

HELD_OUT_SPLITS = ("exclude", "include", "only")
"""What a source yields: its training documents (``exclude`` the held-out slice), all, or ``only`` the slice."""


def is_held_out(doc_id: str, fraction: float = HELD_OUT_FRACTION) -> bool:
    """Whether the document ``doc_id`` belongs to the held-out evaluation slice."""
    digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") < fraction * 2**64


def in_split(doc_id: str, split: str) -> bool:
    """Whether ``doc_id`` is yielded under ``split`` (one of :data:`HELD_OUT_SPLITS`)."""
    if split == "include":
        return True
    return is_held_out(doc_id) == (split == "only")
