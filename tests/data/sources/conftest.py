"""One pass over each built-in source per test session, shared by the tests that look at its documents."""

from __future__ import annotations

import functools

from olmo_core.documents import Document

from olmo_data.sources import Source, builtin_sources


def builtin(name: str, held_out: str = "include") -> Source:
    """A fresh built-in source with its default options, its held-out evaluation slice included."""
    return next(source for source in builtin_sources(held_out=held_out) if source.name == name)


@functools.cache
def documents_of(name: str) -> tuple[Document, ...]:
    """Every document of the built-in source ``name``, held-out ones included (read once per session)."""
    return tuple(builtin(name).documents())
