"""Reading Dolma documents from JSON lines (plain, ``.gz``, ``.zst``) over any fsspec URL.

Nothing is lost: every line becomes either a :class:`~olmo_data.documents.Document` or a
:class:`Quarantined` record that names the file, the line and the reason, and keeps the raw bytes.
"""

from __future__ import annotations

import base64
import io
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import fsspec
import zstandard

from olmo_data.documents import Document, DocumentError

__all__ = ["Quarantined", "read_documents"]


@dataclass(frozen=True, kw_only=True)
class Quarantined:
    """A line (or the unreadable rest of a file) that is not a valid document, and why."""

    file: str
    line: int
    reason: str
    raw: bytes = b""

    def to_json(self) -> dict[str, Any]:
        """The record as JSON, the raw bytes base64-encoded so that nothing is lost."""
        return {"file": self.file, "line": self.line, "reason": self.reason,
                "raw_base64": base64.b64encode(self.raw).decode("ascii")}


def _lines(url: str) -> Iterator[bytes]:
    if url.endswith(".zst"):
        with fsspec.open(url, "rb") as raw:
            yield from io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw))  # type: ignore[arg-type]
        return
    with fsspec.open(url, "rb", compression="infer") as f:
        yield from f


def read_documents(url: str) -> Iterator[Document | Quarantined]:
    """Yield the documents of one JSON-lines file, and a :class:`Quarantined` record for each bad line.

    A truncated or corrupt compressed file yields the documents before the damage and one record for the
    rest; blank lines are skipped.
    """
    number = 0
    try:
        for number, raw in enumerate(_lines(url), start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                yield Quarantined(file=url, line=number, reason=f"not UTF-8 ({exc.reason} at byte {exc.start})",
                                  raw=raw)
                continue
            try:
                yield Document.from_json(json.loads(text))
            except json.JSONDecodeError as exc:
                yield Quarantined(file=url, line=number, reason=f"invalid JSON ({exc.msg})", raw=raw)
            except DocumentError as exc:
                yield Quarantined(file=url, line=number, reason=str(exc), raw=raw)
    except (EOFError, OSError, zlib.error, zstandard.ZstdError, ValueError) as exc:
        yield Quarantined(file=url, line=number + 1,
                          reason=f"unreadable after line {number}: {type(exc).__name__}: {exc}".rstrip(": "))
