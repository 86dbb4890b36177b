"""Writing evaluation results: ``results.json``, per-sample ``samples.jsonl`` and a markdown table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from olmo_core.io import open_atomic, write_text

from olmo_eval.downstream import TaskResult
from olmo_eval.perplexity.evaluator import PerplexityResult
from olmo_eval.tasks.base import METRICS

__all__ = ["downstream_table", "perplexity_table", "write_downstream", "write_perplexity"]


def _write_samples(path: Path, records: Sequence[dict[str, Any]]) -> None:
    with open_atomic(str(path), "wt", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def downstream_table(results: Sequence[TaskResult]) -> str:
    """A markdown table: per task, the primary metric beside chance, then every metric."""
    shown = [m for m in METRICS if any(m in r.metrics for r in results)]
    lines = ["| task | metric | accuracy | chance | " + " | ".join(shown) + " | documents |",
             "|---|---|---|---|" + "---|" * len(shown) + "---|"]
    for r in results:
        cells = " | ".join(f"{r.metrics[m]:.4f}" if m in r.metrics else "-" for m in shown)
        lines.append(f"| {r.task} | {r.metric} | {r.accuracy:.4f} | {r.chance:.4f} | {cells} | {r.documents} |")
    return "\n".join(lines) + "\n"


def perplexity_table(result: PerplexityResult) -> str:
    """A markdown table: per source (mean over its domains), then per domain."""
    lines = ["| source | domain | bits per byte | token perplexity | documents | tokens |",
             "|---|---|---|---|---|---|"]
    for source, figures in result.sources.items():
        lines.append(f"| {source} | (mean of {figures['domains']}) | {figures['bits_per_byte']:.4f} | "
                     f"{figures['ppl_token']:.2f} | {figures['documents']} | - |")
        for domain, cell in sorted(result.domains[source].items()):
            lines.append(f"| {source} | {domain} | {cell['bits_per_byte']:.4f} | {cell['ppl_token']:.2f} | "
                         f"{cell['documents']} | {cell['tokens']} |")
    lines.append(f"| **all** | (mean of sources) | {result.bits_per_byte:.4f} | {result.ppl_token:.2f} | "
                 f"{len(result.records)} | - |")
    return "\n".join(lines) + "\n"


def write_downstream(output: str | Path, results: Sequence[TaskResult], meta: dict[str, Any]) -> dict[str, Path]:
    """Write the three files into ``output``; return their paths."""
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.json", "samples": out / "samples.jsonl", "table": out / "results.md"}
    write_text(str(paths["results"]), json.dumps({**meta, "tasks": {r.task: r.summary() for r in results}},
                                                 indent=2) + "\n")
    _write_samples(paths["samples"], [record for r in results for record in r.records])
    write_text(str(paths["table"]), f"# Downstream evaluation of {meta.get('checkpoint', 'a model')}\n\n"
               + downstream_table(results))
    return paths


def write_perplexity(output: str | Path, result: PerplexityResult, meta: dict[str, Any]) -> dict[str, Path]:
    """Write the three files into ``output``; return their paths."""
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.json", "samples": out / "samples.jsonl", "table": out / "results.md"}
    write_text(str(paths["results"]), json.dumps({**meta, **result.summary()}, indent=2) + "\n")
    _write_samples(paths["samples"], result.records)
    write_text(str(paths["table"]), f"# Perplexity of {meta.get('checkpoint', 'a model')}\n\n"
               + perplexity_table(result))
    return paths
