"""Built-in perplexity sets: a deterministic held-out slice of olmo-data's built-in sources.

A document is held out when the first 8 bytes of the BLAKE2b digest of its id (UTF-8), read as a
big-endian integer, fall below ``fraction`` of 2**64 (:func:`is_held_out`); the choice depends on the id
alone, so the data pipeline can apply the same rule to keep those documents out of training. Each built-in
set names the source and the metadata field that gives a document's domain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping

from olmo_core.documents import Document
from olmo_core.errors import ConfigError
from olmo_core.plugins import get_host

__all__ = ["HELD_OUT_FRACTION", "HELD_OUT_SETS", "held_out_documents", "is_held_out"]

HELD_OUT_FRACTION = 0.05
"""The share of every built-in source kept for evaluation."""

HELD_OUT_SETS: dict[str, str | None] = {
    "c4": None, "wikipedia": "topic", "python-stdlib": None, "sotu": "party", "bible": None,
}
"""Built-in sets: source name -> metadata field naming a document's domain (``None``: one domain)."""


def is_held_out(doc_id: str, fraction: float = HELD_OUT_FRACTION) -> bool:
    """Whether the document ``doc_id`` belongs to the held-out evaluation slice."""
    digest = hashlib.blake2b(doc_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") < fraction * 2**64


def held_out_documents(sets: Mapping[str, str | None], *, max_documents: int | None = None,
                       fraction: float = HELD_OUT_FRACTION) -> Iterator[tuple[Document, str]]:
    """``(document, domain)`` for the held-out documents of each source in ``sets`` (at most
    ``max_documents`` per source, in source order), read through the ``sources`` registry."""
    registry = get_host().registry("sources")
    if not len(registry):
        raise ConfigError("the built-in perplexity sets read olmo-data's sources: install olmo-data, or give "
                          "input=<Dolma documents>")
    for name, domain_key in sets.items():
        taken = 0
        for document in registry.build(name).documents():
            if max_documents is not None and taken >= max_documents:
                break
            if is_held_out(document.id, fraction):
                taken += 1
                domain = document.metadata.get(domain_key) if domain_key else None
                yield document, str(domain or name)
