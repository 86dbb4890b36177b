"""Built-in perplexity sets: a deterministic held-out slice of olmo-data's built-in sources.

The slice is :mod:`olmo_core.heldout`'s: decided by document id alone, left out of training by olmo-data's
sources and read here with their ``held_out=only``. Each built-in set names the source and the metadata
field that gives a document's domain.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from olmo_core.documents import Document
from olmo_core.errors import ConfigError, install_command
from olmo_core.heldout import HELD_OUT_FRACTION, is_held_out
from olmo_core.plugins import get_host

__all__ = ["HELD_OUT_FRACTION", "HELD_OUT_SETS", "held_out_documents", "is_held_out"]


HELD_OUT_SETS: dict[str, str | None] = {
    "c4": None, "wikipedia": "topic", "python-stdlib": None, "sotu": "party", "bible": None,
}
"""Built-in sets: source name -> metadata field naming a document's domain (``None``: one domain)."""


def held_out_documents(sets: Mapping[str, str | None], *, max_documents: int | None = None,
                       fraction: float = HELD_OUT_FRACTION) -> Iterator[tuple[Document, str]]:
    """``(document, domain)`` for the held-out documents of each source in ``sets`` (at most
    ``max_documents`` per source, in source order), read through the ``sources`` registry."""
    registry = get_host().registry("sources")
    if not len(registry):
        raise ConfigError(f"the built-in perplexity sets read olmo-data's sources: install olmo-data "
                          f"({install_command('olmo-data')}), or give input=<Dolma documents>")
    for name, domain_key in sets.items():
        taken = 0
        split = "only" if fraction == HELD_OUT_FRACTION else "include"  # the sources know the default slice
        for document in registry.build({"_name_": name, "held_out": split}).documents():
            if max_documents is not None and taken >= max_documents:
                break
            if is_held_out(document.id, fraction):
                taken += 1
                domain = document.metadata.get(domain_key) if domain_key else None
                yield document, str(domain or name)
