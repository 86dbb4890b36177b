"""``olmo data stats``: what is in a corpus, per source and overall (WIMBD-style), as JSON and PNG figures."""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from olmo_core.config import REQUIRED
from olmo_core.errors import ConfigError
from olmo_core.io import write_text
from olmo_core.progress import Progress

from olmo_data.analysis.attributes import dataset_layout
from olmo_data.analysis.counts import FileCounts, Plan, SourceCounts, count_file
from olmo_data.analysis.figures import draw_figures, local_directory
from olmo_data.analysis.report import source_report
from olmo_data.analysis.summary import print_summary
from olmo_data.analysis.text import PARAGRAPH_MODES
from olmo_data.layout import find_layout
from olmo_data.parallel import map_shards

__all__ = ["StatsConfig", "stats_command"]


@dataclass(kw_only=True)
class StatsConfig:
    """Options of ``olmo data stats``."""

    input: str = REQUIRED
    """A dataset directory (with ``documents/``; its ``attributes/language`` and ``attributes/pii`` are read
    when present), a directory or glob of JSON-lines files, or one file."""
    output: str = REQUIRED
    """Directory that receives ``stats.json`` and the PNG figures."""
    tokenizer: str | None = "olmo-v1.5"
    """Tokenizer that counts tokens: a registered name or a ``tokenizer.json`` path; ``null`` counts none."""
    ngrams: list[int] = field(default_factory=lambda: [1, 2, 3])
    """Sizes of the word n-grams to count (exactly: memory grows with the number of distinct n-grams)."""
    top_k: int = 20
    """How many of the most frequent n-grams of each size to report and draw."""
    paragraphs: str = "lines"
    """What a paragraph is for duplicate paragraphs: ``lines`` (every non-blank line, as Dolma deduplicates
    paragraphs) or ``blocks`` (text between blank lines)."""
    figures: bool = True
    """Draw the PNG figures (needs matplotlib, olmo-core's ``plots`` extra)."""
    workers: int = 1
    """Processes counting files in parallel (0: one per CPU core); the results do not depend on it."""


def _check(config: StatsConfig) -> tuple[int, ...]:
    sizes = tuple(sorted(set(config.ngrams)))
    if any(n < 1 for n in sizes):
        raise ConfigError(f"ngrams={list(config.ngrams)}: n-gram sizes must be 1 or more")
    if config.top_k < 1:
        raise ConfigError(f"top_k={config.top_k} must be at least 1")
    if config.paragraphs not in PARAGRAPH_MODES:
        raise ConfigError(f"paragraphs={config.paragraphs!r} is not one of {', '.join(PARAGRAPH_MODES)}")
    return sizes


def stats_command(config: StatsConfig) -> dict[str, Any]:
    """Count what a corpus holds, per source and overall: documents, UTF-8 bytes, characters, words and tokens;
    document lengths; the most frequent word n-grams (exact counts); exact duplicate documents and paragraphs;
    the language mix and PII spans from the taggers' attributes when the dataset has them.

    Writes ``<output>/stats.json`` and the PNG figures listed in it, and prints a summary table. Files are
    counted in parallel with ``workers`` and combined in file order, so ``stats.json`` does not depend on it.
    """
    sizes = _check(config)
    layout = find_layout(config.input, config.output)
    tokenizer = None
    if config.tokenizer:
        from olmo_core.tokenizer import load_tokenizer

        tokenizer = load_tokenizer(config.tokenizer)
    plan = Plan(sizes, config.paragraphs, config.tokenizer, dataset_layout(layout.files, layout.documents_root))
    start = time.perf_counter()
    total = FileCounts()
    with Progress("counting", total=len(layout.files), unit="files") as progress:
        for counts in map_shards(functools.partial(count_file, plan=plan), layout.files, workers=config.workers):
            total.add(counts)
            progress.advance(postfix=f"{sum(s.documents for s in total.sources.values())} documents")
    seconds = time.perf_counter() - start
    names = sorted(total.sources)
    report_of = functools.partial(source_report, tokenized=tokenizer is not None, ngram_sizes=sizes,
                                  top_k=config.top_k)
    sources = {name: report_of(total.sources[name]) for name in names}
    lengths = {name: (total.sources[name].character_lengths, total.sources[name].token_lengths if tokenizer else None)
               for name in names}
    overall = SourceCounts()
    for name in names:
        overall.add(total.sources[name])
    report: dict[str, Any] = {
        "command": "data stats", "input": config.input, "files": len(layout.files), "records": total.records,
        "quarantined": total.quarantined,
        "tokenizer": {k: tokenizer.identity[k] for k in ("name", "sha256", "vocab_size")} if tokenizer else None,
        "options": {"ngrams": list(sizes), "top_k": config.top_k, "paragraphs": config.paragraphs},
        "sources": sources, "overall": report_of(overall), "figures": [],
    }
    output = config.output.rstrip("/")
    if config.figures:
        with local_directory(output) as directory:
            report["figures"] = draw_figures(directory, sources, report["overall"], lengths)
    write_text(f"{output}/stats.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print_summary(report, seconds=seconds)
    print(f"stats: {output}/stats.json  figures: {len(report['figures'])} PNG files in {output}")
    return report
