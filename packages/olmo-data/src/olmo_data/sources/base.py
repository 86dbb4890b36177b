"""The source interface: a named, licensed collection of real documents that fetches its raw data on first use.

A source yields Dolma :class:`~olmo_core.documents.Document` records whose ``source`` is the source's name and
whose ``id`` is ``<name>-<stable key>``: the same on every run and unique within the source. Built-in sources
read a pinned registry package (see :mod:`olmo_data.sources.archives`); user sources read the user's files.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import itertools
import json
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_core import cache
from olmo_core.assets import PackageArchive, cache_dir, cached, fetch
from olmo_core.config import positive, to_dict
from olmo_core.documents import Document, Quarantined
from olmo_core.errors import ConfigError
from olmo_core.heldout import HELD_OUT_SPLITS, in_split
from olmo_data.sources.archives import download_bytes

__all__ = ["Source", "SourceConfig", "known_count"]


@dataclass(kw_only=True)
class SourceConfig:
    """Options every built-in source takes."""

    limit: int | None = positive(None)
    """Yield at most this many documents (all by default)."""
    held_out: str = "exclude"
    """The held-out evaluation slice (``olmo_core.heldout``, 5% of documents by id): ``exclude`` it (for
    training), ``include`` it, or yield ``only`` it (what olmo-eval's perplexity sets read)."""


class Source(ABC):
    """A collection of documents with a name, a licence and a description.

    Subclasses set :attr:`name`, :attr:`description`, :attr:`license` and :attr:`archive` (the pinned package
    they read, if any) and implement :meth:`read`; :meth:`documents` applies ``limit``.
    """

    name: str = ""
    """The source's name: the ``source`` field of its documents and the prefix of their ids."""
    description: str = ""
    """One line saying what the documents are."""
    license: str = ""
    """The licence of the text (and of the package that carries it, when they differ)."""
    archive: PackageArchive | None = None
    """The pinned package the documents come from; ``None`` for data already on the machine or user files."""
    keep_empty: bool = True
    """Whether documents with no text are yielded (else dropped, counted in :attr:`dropped` as ``empty``)."""

    def __init__(self, config: Any = None) -> None:
        self.config = config if config is not None else SourceConfig()
        self.limit: int | None = getattr(self.config, "limit", None)
        self.quarantined: list[Quarantined] = []
        """Records of the raw data that could not become documents, with file, line and reason (filled while
        reading)."""
        self.dropped: Counter[str] = Counter()
        """Valid documents left out, by reason (``empty``, ``held out``)."""

    @property
    def rejected(self) -> Counter[str]:
        """How many records were quarantined, by reason (its words before any detail in parentheses)."""
        return Counter(q.kind for q in self.quarantined)

    @property
    def pin(self) -> str | None:
        """What fixes the documents: the package release and its sha256; ``None`` when nothing does."""
        return f"{self.archive.spec} sha256:{self.archive.sha256}" if self.archive else None

    @property
    def download_bytes(self) -> int | None:
        """The size of the package download, when the source has one."""
        return download_bytes(self.archive) if self.archive else None

    def is_cached(self) -> bool:
        """Whether the raw data is on this machine, so that reading downloads nothing."""
        return self.archive is None or cached(self.archive) is not None

    def fetch(self) -> None:
        """Download (once) and verify the raw data."""
        if self.archive is not None:
            fetch(self.archive)

    def fingerprint(self) -> dict[str, Any]:
        """What identifies the documents this source yields: name, pin, configuration and the olmo-data release
        that converted them."""
        config = {k: v for k, v in to_dict(self.config).items() if not k.startswith("_")}
        return {"name": self.name, "pin": self.pin, "config": config, "reader": _reader()}

    def doc_id(self, key: object) -> str:
        """The document id for a stable key: ``<name>-<key>``."""
        return f"{self.name}-{key}"

    def document(self, key: object, text: str, **metadata: Any) -> Document:
        """A document of this source with id ``<name>-<key>``; metadata entries that are ``None`` are left out."""
        return Document(id=self.doc_id(key), text=text, source=self.name,
                        metadata={k: v for k, v in metadata.items() if v is not None})

    @abstractmethod
    def read(self) -> Iterator[Document]:
        """Every document of the source, in a fixed order (fetching the raw data first if needed)."""

    def documents(self) -> Iterator[Document]:
        """The source's documents of the configured held-out split, at most ``limit`` of them. A complete pass
        over a pinned source records its count in the cache, so that ``olmo data sources`` can show it without
        reading again."""
        split = getattr(self.config, "held_out", "include")
        if split not in HELD_OUT_SPLITS:
            raise ConfigError(f"held_out must be one of {', '.join(HELD_OUT_SPLITS)}, not {split!r}")
        count = text_bytes = 0
        documents = (d for d in self.read() if self._kept(d, split))
        for document in itertools.islice(documents, self.limit):
            count += 1
            text_bytes += len(document.text.encode("utf-8"))
            yield document
        if self.pin is not None and self.limit is None:
            record = {"fingerprint": self.fingerprint(), "documents": count, "text_bytes": text_bytes}
            path, key = _count_entry(self)
            cache.store(path, (json.dumps(record, indent=2) + "\n").encode("utf-8"), key=key)


    def _kept(self, document: Document, split: str) -> bool:
        reason = "empty" if not document.text and not self.keep_empty else \
            None if in_split(document.id, split) else "held out"
        self.dropped.update([reason] if reason else [])
        return reason is None


@functools.cache
def _reader() -> str:
    return f"olmo-data {importlib.metadata.version('olmo-data')}"


def _count_entry(source: Source) -> tuple[Path, str]:
    """The cache entry of ``source``'s count, named by a hash of its fingerprint, and its key (the whole hash)."""
    digest = hashlib.sha256(json.dumps(source.fingerprint(), sort_keys=True).encode()).hexdigest()
    return cache_dir() / "source-counts" / f"{source.name}-{digest[:16]}.json", digest


def known_count(source: Source) -> dict[str, int] | None:
    """``{"documents", "text_bytes"}`` from the last complete pass over ``source``, if there was one. A recorded
    count that does not match its hash is named on stderr and discarded (the next complete pass records it
    again)."""
    path, key = _count_entry(source)
    if cache.lookup(path, key=key) is None:
        return None
    record = json.loads(path.read_text())
    return {"documents": record["documents"], "text_bytes": record["text_bytes"]}
