"""The ``stats`` job (``olmo data stats``): what is in a corpus, per source and overall (WIMBD-style), as JSON
and PNG figures."""

from __future__ import annotations

import functools
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from olmo_core import plots
from olmo_core.artifacts import Dataset
from olmo_core.config import non_negative, positive
from olmo_core.documents import require_documents
from olmo_core.errors import ConfigError
from olmo_core.io import local_directory, write_text
from olmo_core.jobs import Job, JobResult, Report, Slot
from olmo_core.progress import Progress

from olmo_data.analysis.attributes import dataset_layout
from olmo_data.analysis.counts import FileCounts, Plan, SourceCounts, count_part
from olmo_data.analysis.figures import draw_figures
from olmo_data.analysis.partial import PARTIAL_DIRECTORY, merge_partials, save_partial
from olmo_data.analysis.report import source_report
from olmo_data.analysis.summary import print_summary
from olmo_data.analysis.text import PARAGRAPH_MODES
from olmo_data.dedup.text import check_choice
from olmo_data.layout import (Layout, amount, check_output_apart, counted, find_layout, report_name, reporting,
                              select_shard, shared_output)
from olmo_data.parallel import PART_BYTES, map_shards, parts_with_documents_before, per_file

__all__ = ["StatsConfig", "StatsJob", "corpus_stats"]

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class StatsConfig:
    """Options of the ``stats`` job (``olmo data stats``)."""

    tokenizer: str | None = "olmo-v1.5"
    """Tokenizer that counts tokens: a registered name or a ``tokenizer.json`` path; ``null`` counts none."""
    ngrams: list[int] = field(default_factory=lambda: [1, 2, 3])
    """Sizes of the word n-grams to count (exactly: memory grows with the number of distinct n-grams)."""
    top_k: int = positive(20)
    """How many of the most frequent n-grams of each size to report and draw."""
    paragraphs: str = "lines"
    """What a paragraph is for duplicate paragraphs: ``lines`` (every non-blank line, as Dolma deduplicates
    paragraphs) or ``blocks`` (text between blank lines)."""
    figures: bool = True
    """Draw the PNG figures (needs matplotlib, olmo-core's ``plots`` extra; without it, the figures are skipped
    with a note)."""
    workers: int = non_negative(1)
    """Processes counting files, and parts of large files, in parallel (0: one per CPU core); the results do not
    depend on it."""
    part_bytes: int = positive(PART_BYTES)
    """Files with more content than this (32 MiB) are counted in parts of this size, in parallel (after a first
    pass that counts each part's documents, to find its rows in the attribute files); the results do not depend
    on it."""
    shard: str | None = None
    """Count only shard ``i/N`` of the input files (every N-th from the i-th) into partial counts under
    ``<output>/partial/`` (``phase=count``), for one ``phase=merge`` job to combine."""
    phase: str | None = None
    """``all``: count and report in one job (the default without ``shard``); ``count``: save the partial
    counts of the files (the default with ``shard``); ``merge``: add every shard's partial counts and write
    ``stats.json`` and the figures exactly as ``all`` does. Every phase takes the same ``ngrams``,
    ``paragraphs`` and ``tokenizer``."""

PHASES = ("all", "count", "merge")


def _check(config: StatsConfig) -> tuple[int, ...]:
    sizes = tuple(sorted(set(config.ngrams)))
    if any(n < 1 for n in sizes):
        raise ConfigError(f"ngrams={list(config.ngrams)}: n-gram sizes must be 1 or more")
    if config.paragraphs not in PARAGRAPH_MODES:
        raise ConfigError(f"paragraphs={config.paragraphs!r} is not one of {', '.join(PARAGRAPH_MODES)}")
    return sizes


def _phase(config: StatsConfig) -> str:
    phase = config.phase or ("count" if config.shard else "all")
    check_choice(phase, PHASES, "phase")
    if phase == "merge" and config.shard:
        raise ConfigError(f"phase=merge takes no shard (shard={config.shard}): it merges every shard's partial "
                          f"counts, once they are all written")
    return phase


def corpus_stats(config: StatsConfig, input: str, output: str) -> dict[str, Any]:
    """Count what the corpus ``input`` holds, per source and overall: documents, UTF-8 bytes, characters, words and
    tokens; document lengths; the most frequent word n-grams (exact counts); exact duplicate documents and paragraphs;
    the language mix and PII spans from the taggers' attributes when the dataset has them.

    Writes ``<output>/stats.json`` and the PNG figures listed in it, and prints a summary table. Files are
    counted in parallel with ``workers`` and combined in file order, so ``stats.json`` does not depend on it.
    Across jobs, ``shard=i/N`` saves a shard's partial counts and ``phase=merge`` combines them into the same
    ``stats.json`` and figures.
    """
    sizes = _check(config)
    phase = _phase(config)
    layout = find_layout(input, output)
    # the workers' plan: the dataset's folders without its list of files (see Layout.for_workers)
    plan = Plan(sizes, config.paragraphs, config.tokenizer, dataset_layout([], layout.documents_root))
    options = {"ngrams": list(sizes), "paragraphs": config.paragraphs, "tokenizer": config.tokenizer}
    output = output.rstrip("/")
    start = time.perf_counter()
    shard = select_shard(layout.files, config.shard)
    partial = f"{output}/{PARTIAL_DIRECTORY}/{report_name('stats', config.shard or '0/1')}"
    report_path = f"{output}/{report_name('stats', config.shard or '0/1')}.json" if phase == "count" \
        else f"{output}/stats.json"  # a count job's own report, beside (never in) the partial counts
    done: Counter[str] = Counter()  # files, records and quarantined records counted so far

    def summary(error: str | None) -> dict[str, Any]:
        return {"command": "data stats", "phase": phase, "shard": config.shard, "input": input, "files": len(shard),
                "files_done": done["files"], "complete": error is None, **({"error": error} if error else {}),
                **counted(done["records"], written=done["records"] - done["quarantined"],
                          quarantined=done["quarantined"]), "skipped_files": layout.skipped}

    with reporting(report_path, summary):
        if phase == "merge":
            total = merge_partials(output, layout, options)
            return _report(config, input, output, sizes, layout, total, time.perf_counter() - start)
        with Progress("counting", unit="docs") as progress:
            def rows() -> Iterator[tuple[int, str, FileCounts]]:
                tasks = parts_with_documents_before([file for _, file in shard], workers=config.workers,
                                                    part_bytes=config.part_bytes)
                counted_parts = map_shards(functools.partial(count_part, plan=plan), tasks, workers=config.workers,
                                           progress=progress.update)
                for (index, file), (_, found) in zip(shard, per_file(tasks, counted_parts, lambda task: task[0]),
                                                     strict=True):
                    counts = FileCounts()
                    for part_counts in found:
                        counts.add(part_counts)
                    done.update(files=1, records=counts.records, quarantined=counts.quarantined)
                    progress.advance(0, postfix=f"{done['files']}/{len(shard)} files")
                    yield index, layout.relative(file), counts

            if phase == "all":
                total = FileCounts()
                for _, _, counts in rows():
                    total.add(counts)
            else:
                header = {"options": options, "shard": config.shard or "0/1", "files": len(layout.files)}
                written = save_partial(f"{partial}.jsonl.gz", header, rows())
        if phase == "all":
            return _report(config, input, output, sizes, layout, total, time.perf_counter() - start)
    write_text(report_path, json.dumps(summary(None), indent=2) + "\n")
    log.info(f"counted {amount(written, 'file')}{f' (shard {config.shard})' if config.shard else ''} in "
             f"{time.perf_counter() - start:.1f}s: {partial}.jsonl.gz")
    log.info(f"next: `olmo data stats input={input} output={output} phase=merge{_merge_options(config)}` once every "
             f"shard is counted")
    return {"command": "data stats", "phase": "count", "shard": config.shard, "files": written,
            "partial": f"{partial}.jsonl.gz"}


def _merge_options(config: StatsConfig) -> str:
    """The options a merge must be given as its count jobs were (`` tokenizer=null ngrams=[1,2]``), those that
    differ from their defaults."""
    default = StatsConfig()
    given = {key: getattr(config, key) for key in ("tokenizer", "ngrams", "paragraphs")
             if getattr(config, key) != getattr(default, key)}
    return "".join(f" {key}={'null' if value is None else str(value).replace(' ', '')}" for key, value in given.items())


def _counted(total: FileCounts) -> dict[str, int]:
    return counted(total.records, written=total.records - total.quarantined, quarantined=total.quarantined)


def _report(config: StatsConfig, input: str, output: str, sizes: tuple[int, ...], layout: Layout, total: FileCounts,
            seconds: float) -> dict[str, Any]:
    require_documents(total.records, total.records - total.quarantined, input=input, step="olmo data stats",
                      report=f"{output}/stats.json")
    tokenizer = None
    if config.tokenizer:
        from olmo_core.tokenizer import load_tokenizer

        tokenizer = load_tokenizer(config.tokenizer)
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
        "command": "data stats", "input": input, "files": len(layout.files), "files_done": len(layout.files),
        "complete": True, **_counted(total),
        "skipped_files": layout.skipped,
        "tokenizer": {k: tokenizer.identity[k] for k in ("name", "sha256", "vocab_size")} if tokenizer else None,
        "options": {"ngrams": list(sizes), "top_k": config.top_k, "paragraphs": config.paragraphs},
        "sources": sources, "overall": report_of(overall), "figures": [],
    }
    if config.figures and not plots.available():
        report["figures_skipped"] = plots.missing_note("figures")
        log.warning("%s", report["figures_skipped"])
    elif config.figures:
        with local_directory(output) as directory:
            report["figures"] = draw_figures(directory, sources, report["overall"], lengths)
    write_text(f"{output}/stats.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print_summary(report, seconds=seconds)
    log.info(f"stats: {output}/stats.json  figures: {len(report['figures'])} PNG files in {output}")
    return report


class StatsJob(Job):
    """What is in a corpus, per source: sizes, tokens, lengths, top n-grams, duplicates, languages, PII.

    Writes ``stats.json`` and PNG figures in the work directory."""

    command = "data stats"
    inputs: ClassVar[dict[str, Slot]] = {
        "input": Slot(Dataset, help="a dataset directory (its attributes/language and attributes/pii are read when "
                                    "present), a directory or glob of JSON-lines files, or one file")}

    def check(self, config: StatsConfig, inputs: dict[str, Any], workdir: str) -> None:
        """Refuse bad options, and an output in the folder of the input's documents (its files would be read as
        documents), before an earlier run's report is replaced."""
        from olmo_core.tokenizer import check_tokenizer_spec

        check_output_apart(inputs["input"].path, workdir, self.command, new_dataset=False)

        _check(config)
        _phase(config)
        if config.tokenizer:
            check_tokenizer_spec(config.tokenizer)

    def run(self, config: StatsConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        """Count; metrics: the ``stats.json`` report (or, for ``phase=count``, what the shard counted)."""
        return JobResult(metrics=corpus_stats(config, inputs["input"].path, shared_output(workdir)))

    def report(self, result: JobResult) -> Report:
        """Documents and tokens overall, and the figures drawn."""
        m = result.metrics
        if m.get("phase") == "count":
            return Report(markdown=f"## Corpus statistics\n\npartial counts of {amount(m['files'], 'file')}: "
                                   f"{m['partial']}")
        overall = m["overall"]
        tokens = f", {amount(overall['tokens'], 'token')}" if overall.get("tokens") is not None else ""
        return Report(markdown=f"## Corpus statistics\n\n{amount(overall['documents'], 'document')}{tokens} from "
                               f"{amount(len(m['sources']), 'source')}; {amount(len(m['figures']), 'figure')} beside "
                               f"stats.json."
                               + (f"\n\n{m['figures_skipped']}" if m.get("figures_skipped") else ""))
