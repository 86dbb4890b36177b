"""Reading the taggers' attribute files beside a document file, row by row with its documents.

The analysis looks at two taggers: ``language`` (the ``<experiment>__language__top`` label) and ``pii`` (the
``<experiment>__pii__<KIND>`` spans). A document file with no attribute file is counted as not tagged; an
attribute file that does not line up with its documents is an error, as in ``olmo data filter``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

from olmo_core.errors import ConfigError
from olmo_core.io import exists

from olmo_data.layout import Layout, aligned_row, attribute_rows

__all__ = ["ANALYSED_TAGGERS", "AttributeRows", "dataset_layout", "language_of", "pii_spans_of"]

ANALYSED_TAGGERS = ("language", "pii")


def dataset_layout(files: list[str], documents_root: str | None) -> Layout | None:
    """The layout of the dataset that holds ``files``, or ``None`` when they are not under ``documents/``."""
    if documents_root is None or not documents_root.endswith("/documents"):
        return None
    return Layout(files, documents_root[: -len("/documents")], documents_root)


class AttributeRows:
    """The attribute rows of one document file for each analysed tagger that has tagged it."""

    def __init__(self, layout: Layout | None, file: str, *, skip: int = 0, last: bool = True) -> None:
        """The rows of ``file``'s attribute files after the first ``skip``; unless ``last`` (a part of the file
        before its last), rows left over at the end are not an error."""
        self.file, self.last = file, last
        self._rows: dict[str, Iterator[dict[str, Any]]] = {}
        if layout is None:
            return
        for name in ANALYSED_TAGGERS:
            url = layout.attributes(name, file)
            if exists(url):
                self._rows[name] = attribute_rows(url, skip=skip)

    def __enter__(self) -> AttributeRows:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        for name, rows in self._rows.items():
            extra = next(rows, None) if kind is None and self.last else None
            if isinstance(rows, Generator):
                rows.close()
            if extra is not None:
                raise ConfigError(f"attributes/{name} of {self.file} have more rows than it has documents "
                                  f"(the first extra one is {extra.get('id')!r}); tag the documents again")

    def next(self, document_id: str) -> dict[str, dict[str, list[list[Any]]] | None]:
        """Each analysed tagger's attributes of the next document (``None`` where it has no file)."""
        found: dict[str, dict[str, list[list[Any]]] | None] = {}
        for name in ANALYSED_TAGGERS:
            rows = self._rows.get(name)
            if rows is None:
                found[name] = None
                continue
            found[name] = aligned_row(rows, document_id, name, self.file).get("attributes") or {}
        return found


def language_of(attributes: dict[str, list[list[Any]]]) -> str:
    """The document's most likely language (the ``__language__top`` label), ``unknown`` when it has none."""
    for key, spans in attributes.items():
        if key.endswith("__language__top"):
            return str(spans[0][2]) if spans else "unknown"
    return "unknown"


def pii_spans_of(attributes: dict[str, list[list[Any]]]) -> dict[str, int]:
    """The number of PII spans of each kind (``EMAIL_ADDRESS``, ...) in the document's ``pii`` attributes."""
    counts: dict[str, int] = {}
    for key, spans in attributes.items():
        _, sep, kind = key.rpartition("__pii__")
        if sep and kind != "doc_count":
            counts[kind] = len(spans)
    return counts
