"""The compact table that ``olmo data stats`` prints: one row per source and one for all of them."""

from __future__ import annotations

import logging
from typing import Any

from olmo_core.jobs import text_table
from olmo_core.logs import print_result

from olmo_data.layout import read_line

__all__ = ["format_summary", "print_summary"]

log = logging.getLogger(__name__)


def _size(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.1f}{unit}"
    return f"{value:.0f}"


def _percent(rate: float) -> str:
    return f"{100 * rate:.1f}%"


def _row(name: str, entry: dict[str, Any]) -> list[str]:
    languages = entry["languages"]
    if languages["documents"]:
        language, count = next(iter(languages["counts"].items()))
        top = f"{language} {100 * count / languages['documents']:.0f}%"
    else:
        top = "not tagged"
    pii = entry["pii"]
    return [name, f"{entry['documents']:,}", _size(entry["bytes"]) + "B", _size(entry["words"]),
            "-" if entry["tokens"] is None else _size(entry["tokens"]),
            _percent(entry["duplicates"]["documents"]["rate"]), _percent(entry["duplicates"]["paragraphs"]["rate"]),
            top, f"{pii['documents_with_pii']:,}" if pii["documents"] else "not tagged"]


def format_summary(report: dict[str, Any]) -> str:
    """The summary table of a ``stats.json`` report, as text."""
    header = ["source", "documents", "bytes", "words", "tokens", "dup docs", "dup paras", "top language",
              "docs with PII"]
    rows = [_row(name, entry) for name, entry in report["sources"].items()]
    rows.append(_row("all", report["overall"]))
    lines = text_table([header, *rows], right=range(1, len(header)))
    return "\n".join([*lines[:-1], "-" * len(lines[0]), lines[-1]])


def print_summary(report: dict[str, Any], *, seconds: float) -> None:
    """Print the summary table, the top unigrams overall and how fast the corpus was read."""
    overall = report["overall"]
    words = overall["ngrams"].get("1")
    top = [] if words is None else ["top words: " + ", ".join(f"{w} ({c:,})" for w, c in words[:10])]
    print_result(log, "\n".join([format_summary(report), *top]))
    rate = overall["bytes"] / seconds if seconds else 0.0
    speed = f"{rate / 1e6:.1f} MB/s" if rate >= 1e6 else f"{rate / 1e3:.1f} kB/s"
    log.info(read_line(report["files"], overall["documents"], report["quarantined"], f" in {seconds:.1f}s ({speed})"))
