"""``olmo data sources``: every registered document source, its licence, download and document count."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from olmo_core.errors import OlmoError
from olmo_core.jobs import text_table
from olmo_core.plugins import get_host

from olmo_data.sources.base import Source, known_count

__all__ = ["SourcesConfig", "describe_source", "sources_command"]


@dataclass(kw_only=True)
class SourcesConfig:
    """Options of ``olmo data sources``."""

    json: bool = False
    """Print JSON instead of a table."""
    count: bool = True
    """Count the documents of cached sources not counted before (one pass over each, recorded in the cache)."""


def describe_source(source: Source, *, count: bool = True) -> dict[str, Any]:
    """A source's row: name, description, licence, pin, download size, whether it is cached, and (for cached,
    pinned sources) its document count and text bytes."""
    parts: list[Source] = getattr(source, "parts", None) or [source]
    cached = source.is_cached()
    counts = []
    for part in parts:
        known = known_count(part) if part.pin is not None and part.is_cached() else None
        if known is None and count and part.pin is not None and part.is_cached():
            for _ in part.documents():
                pass
            known = known_count(part)
        counts.append(known)
    complete = all(c is not None for c in counts)
    user_files = source.pin is None and source.archive is None and len(parts) == 1
    return {
        "name": source.name, "description": source.description, "license": source.license, "pin": source.pin,
        "download_bytes": source.download_bytes, "cached": None if user_files else cached,
        "documents": sum(c["documents"] for c in counts if c) if complete else None,
        "text_bytes": sum(c["text_bytes"] for c in counts if c) if complete else None,
    }


def _sources() -> list[tuple[str, Source | None, str]]:
    registry = get_host().registry("sources")
    found: list[tuple[str, Source | None, str]] = []
    for component in registry:
        for option in [component.name, *component.presets]:
            try:
                found.append((option, registry.build(option), component.help))
            except OlmoError as exc:
                found.append((option, None, f"{component.help} (cannot be built with defaults: {exc})"))
    return found


def _size(value: int | None) -> str:
    return "-" if value is None else f"{value / 1e6:,.1f} MB"


def sources_command(config: SourcesConfig) -> list[dict[str, Any]]:
    """List every registered document source: description, licence, package download size, whether it is
    cached and, when it is, its number of documents (``--json`` for JSON)."""
    rows = []
    for option, source, help_text in _sources():
        row = describe_source(source, count=config.count) if source is not None else {
            "name": option, "description": help_text, "license": "", "pin": None, "download_bytes": None,
            "cached": None, "documents": None, "text_bytes": None}
        rows.append({"option": option, **row})
    if config.json:
        print(json.dumps(rows, indent=2))
        return rows
    table = [("source", "documents", "text", "download", "cached", "licence", "description")]
    for row in rows:
        cached = {True: "yes", False: "no", None: "-"}[row["cached"]]
        documents = "-" if row["documents"] is None else f"{row['documents']:,}"
        table.append((row["option"], documents, _size(row["text_bytes"]), _size(row["download_bytes"]), cached,
                      row["license"], row["description"]))
    for line in text_table(table, right=(1, 2, 3)):
        print(line)
    print(f"{len(rows)} sources; fetch some with `olmo data fetch sources=[<name>,...] output=<dir>` (or "
          f"sources=[all])")
    return rows
