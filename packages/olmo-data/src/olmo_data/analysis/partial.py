"""Partial counts of ``olmo data stats``: each shard's per-file counts saved, then merged into the whole.

A shard's job (``shard=i/N``) writes ``<output>/partial/stats-shard-i-of-N.jsonl.gz``: a header (the counting
options, the shard, the number of input files) and one line per file it counted (its index among all input
files, its path below ``documents/`` and its :class:`~olmo_data.analysis.counts.FileCounts`). Every count is
exact and mergeable (sums, length lists, n-gram and hash counters), so merging the files in input order gives
the counts that one job over all files gives.
"""

from __future__ import annotations

import json
from array import array
from collections import Counter
from collections.abc import Iterable
from typing import Any

from olmo_core.config import changed_settings
from olmo_core.errors import ConfigError
from olmo_core.io import glob, open_atomic, open_file

from olmo_data.analysis.counts import FileCounts, SourceCounts
from olmo_data.layout import Layout

__all__ = ["PARTIAL_DIRECTORY", "file_counts_from_json", "file_counts_to_json", "merge_partials", "save_partial"]

PARTIAL_DIRECTORY = "partial"
_SUMS = ("documents", "bytes", "characters", "words", "tokens", "language_tagged", "pii_tagged", "pii_documents")
_COUNTERS = ("document_hashes", "paragraph_hashes", "languages", "pii_spans")


def _source_to_json(counts: SourceCounts) -> dict[str, Any]:
    found: dict[str, Any] = {name: getattr(counts, name) for name in _SUMS}
    found["character_lengths"] = counts.character_lengths.tolist()
    found["token_lengths"] = counts.token_lengths.tolist()
    found["ngrams"] = {str(n): list(counter.items()) for n, counter in counts.ngrams.items()}
    found.update({name: list(getattr(counts, name).items()) for name in _COUNTERS})
    return found


def _source_from_json(data: dict[str, Any]) -> SourceCounts:
    counts = SourceCounts(**{name: data[name] for name in _SUMS})
    counts.character_lengths = array("q", data["character_lengths"])
    counts.token_lengths = array("q", data["token_lengths"])
    counts.ngrams = {int(n): Counter(dict(map(tuple, pairs))) for n, pairs in data["ngrams"].items()}
    for name in _COUNTERS:
        setattr(counts, name, Counter(dict(map(tuple, data[name]))))
    return counts


def file_counts_to_json(counts: FileCounts) -> dict[str, Any]:
    """``counts`` as JSON-able data (counters as ``[key, count]`` pairs in their order)."""
    return {"records": counts.records, "quarantined": counts.quarantined,
            "sources": {name: _source_to_json(source) for name, source in counts.sources.items()}}


def file_counts_from_json(data: dict[str, Any]) -> FileCounts:
    """The :class:`FileCounts` that :func:`file_counts_to_json` wrote."""
    return FileCounts(data["records"], data["quarantined"],
                      {name: _source_from_json(source) for name, source in data["sources"].items()})


def save_partial(url: str, header: dict[str, Any], counted: Iterable[tuple[int, str, FileCounts]]) -> int:
    """Write a shard's partial counts: ``header``, then ``(index, relative path, counts)`` per file, atomically.
    Returns the number of files written."""
    written = 0
    with open_atomic(url, "wt", compression="gzip", encoding="utf-8") as f:
        f.write(json.dumps(header, ensure_ascii=False) + "\n")
        for index, relative, counts in counted:
            row = {"index": index, "file": relative, "counts": file_counts_to_json(counts)}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            written += 1
    return written


def _read(url: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with open_file(url, "rt", compression="gzip", encoding="utf-8") as f:
        header = json.loads(f.readline())
        return header, [json.loads(line) for line in f]


def merge_partials(output: str, layout: Layout, options: dict[str, Any]) -> FileCounts:
    """The counts of every input file, from the partials under ``<output>/partial/``, added in input order.

    The partials must come from one sweep (the same N), have been counted with ``options`` and cover each input
    file once; otherwise a :class:`ConfigError` says what is wrong.
    """
    urls = glob(f"{output}/{PARTIAL_DIRECTORY}/*.jsonl.gz")
    if not urls:
        raise ConfigError(f"phase=merge: no partial counts under {output}/{PARTIAL_DIRECTORY}/: run "
                          f"`olmo data stats` with shard=i/N over every shard first")
    per_file: dict[int, FileCounts] = {}
    counts_of: set[int] = set()
    for url in urls:
        header, rows = _read(url)
        if header["options"] != options:
            raise ConfigError(f"{url} was counted with other options than this merge's "
                              f"({changed_settings(header['options'], options)}): merge with the same ngrams, "
                              f"paragraphs and tokenizer, or count again")
        counts_of.add(int(header["shard"].partition("/")[2]))
        if len(counts_of) > 1 or header["files"] != len(layout.files):
            raise ConfigError(f"{output}/{PARTIAL_DIRECTORY}/ mixes sweeps (shard counts {sorted(counts_of)}, or "
                              f"{header['files']} input files against {len(layout.files)} now): delete it and count "
                              f"again")
        for row in rows:
            index = row["index"]
            if layout.relative(layout.files[index]) != row["file"] or index in per_file:
                raise ConfigError(f"{url}: file {index} is {row['file']}, counted twice or not an input file now")
            per_file[index] = file_counts_from_json(row["counts"])
    missing = [layout.relative(f) for i, f in enumerate(layout.files) if i not in per_file]
    if missing:
        raise ConfigError(f"phase=merge: {len(missing)} input files have no partial counts (first: {missing[0]}): "
                          f"run the missing shards")
    total = FileCounts()
    for index in range(len(layout.files)):
        total.add(per_file[index])
    return total
