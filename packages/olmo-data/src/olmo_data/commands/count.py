"""``olmo data count``: how many documents contain a text, and how often it occurs, per source."""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass
from typing import Any

from olmo_core.config import REQUIRED, non_negative
from olmo_core.documents import document_files
from olmo_core.io import write_text
from olmo_core.jobs import text_table
from olmo_core.progress import Progress
from olmo_core.sweeps import job_dir

from olmo_data.analysis.search import Matches, Query, count_matches
from olmo_data.layout import counted, read_line
from olmo_data.parallel import map_shards

__all__ = ["CountConfig", "count_command"]

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class CountConfig:
    """Options of ``olmo data count``."""

    input: str = REQUIRED
    """A dataset directory (with ``documents/``), a directory or glob of JSON-lines files, or one file."""
    query: str = REQUIRED
    """The text to count (taken literally, not as a regular expression)."""
    case_sensitive: bool = False
    """Match case exactly; by default ``Whale`` and ``WHALE`` count as ``whale``."""
    whole_word: bool = False
    """Count only matches with no letter, digit or underscore right before or after them."""
    examples: int = non_negative(3)
    """How many matching documents to show (the first ones, in file order)."""
    context: int = non_negative(60)
    """Characters of text shown on each side of an example's first match."""
    output: str | None = None
    """A directory to write ``count.json`` into (optional; in a sweep, each job's in ``<output>/<swept values>/``)."""
    workers: int = non_negative(1)
    """Processes reading files in parallel (0: one per CPU core); the results do not depend on it."""


def _report(config: CountConfig, files: int, total: Matches, skipped: dict[str, str]) -> dict[str, Any]:
    per_source = {source: {"documents": total.documents[source], "matching": total.matching[source],
                           "occurrences": total.occurrences[source]} for source in sorted(total.documents)}
    return {"command": "data count", "input": config.input, "query": config.query,
            "case_sensitive": config.case_sensitive, "whole_word": config.whole_word, "files": files,
            **counted(total.records, written=total.records - total.quarantined, quarantined=total.quarantined),
            "skipped_files": skipped,
            "documents": sum(total.documents.values()), "matching": sum(total.matching.values()),
            "occurrences": sum(total.occurrences.values()), "sources": per_source, "examples": total.examples}


def _print(report: dict[str, Any]) -> None:
    how = ", ".join(["case-sensitive" if report["case_sensitive"] else "any case"]
                    + (["whole words"] if report["whole_word"] else []))
    print(f"{report['query']!r} ({how}): {report['occurrences']:,} occurrences in {report['matching']:,} of "
          f"{report['documents']:,} documents")
    rows = [["source", "documents", "matching", "share", "occurrences"]]
    for source, c in report["sources"].items():
        share = f"{100 * c['matching'] / c['documents']:.1f}%" if c["documents"] else "-"
        rows.append([source, f"{c['documents']:,}", f"{c['matching']:,}", share, f"{c['occurrences']:,}"])
    for line in text_table(rows, right=range(1, 5)):
        print("  " + line)
    for example in report["examples"]:
        print(f"  {example['source']}/{example['id']} @{example['offset']}: {example['snippet']}")


def summary_line(report: dict[str, Any]) -> str:
    """The last line of ``olmo data count``: the records read, as ``olmo data stats`` says it (:func:`read_line`)."""
    return read_line(report["files"], report["written"], report["quarantined"])


def count_command(config: CountConfig) -> dict[str, Any]:
    """Count the documents that contain ``query`` and its occurrences (non-overlapping), per source, with
    options for case sensitivity and whole words; print the counts and the first few matching documents with
    a snippet around their first match. Files are read in parallel with ``workers``; results do not depend
    on it.
    """
    query = Query(config.query, config.case_sensitive, config.whole_word, config.examples, config.context)
    query.pattern()
    skipped: dict[str, str] = {}
    files = document_files(config.input, skipped=skipped)
    total = Matches()
    with Progress("counting", total=len(files), unit="files") as progress:
        for matches in map_shards(functools.partial(count_matches, query=query), files,
                                  workers=config.workers):
            total.add(matches, config.examples)
            progress.advance(postfix=f"{sum(total.occurrences.values())} occurrences")
    report = _report(config, len(files), total, skipped)
    _print(report)
    log.info(summary_line(report))
    if config.output:  # in a sweep, each job's in its own <output>/<swept values>/
        path = f"{job_dir(config.output.rstrip('/'))}/count.json"
        write_text(path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        print(f"report: {path}")
    return report
