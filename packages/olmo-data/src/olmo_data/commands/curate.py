"""``olmo data curate``: the whole curation, stage by stage in one run directory, resumable."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_core.config import components
from olmo_core.documents import Document, document_files, read_documents
from olmo_core.io import write_text
from olmo_core.pipeline.command import RunConfig, run_pipeline
from olmo_core.plots import bar_plot

__all__ = ["CURATE_STAGES", "CurateConfig", "curate_command"]

CURATE_STAGES = ["fetch", "tag", "filter", "dedup", "mix", "decontaminate", "tokenize", "stats"]


@dataclass(kw_only=True)
class CurateConfig(RunConfig):
    """Options of ``olmo data curate``."""

    name: str = "curate"
    stages: Any = components("stages", default=CURATE_STAGES, providers={s: "olmo-data" for s in CURATE_STAGES},
                             help="the curation steps, in order")


def _per_source(dataset: str) -> tuple[Counter[str], Counter[str]]:
    documents: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for file in document_files(dataset):
        for item in read_documents(file):
            if isinstance(item, Document):
                documents[item.source] += 1
                sizes[item.source] += len(item.text.encode("utf-8"))
    return documents, sizes


def curate_command(config: CurateConfig) -> dict[str, Any]:
    """Curate a corpus: fetch, tag, filter, dedup, mix, decontaminate, tokenize and describe it, each stage in
    its own directory of ``runs/<name>/``, resuming after the last completed stage when run again.

    ``curate.md`` (with ``curate.png``) and ``curate.json`` show documents, bytes and tokens per source after
    every stage; tokens are counted at the tokenize stage and estimated for earlier stages from each source's
    bytes per token there (the mean over sources for a source that did not reach it).
    """
    run_dir, records = run_pipeline(config, command="data curate")
    rows: dict[str, dict[str, dict[str, int]]] = {}
    counted: dict[str, tuple[Counter[str], Counter[str]]] = {}  # stages may share a dataset: read it once
    for record in records:
        dataset = record["result"].get("dataset")
        if dataset and Path(dataset).exists() and record["stage"] not in rows:
            if dataset not in counted:
                counted[dataset] = _per_source(dataset)
            documents, sizes = counted[dataset]
            rows[record["stage"]] = {s: {"documents": documents[s], "bytes": sizes[s]} for s in sorted(documents)}
    ratio = _bytes_per_token(records, rows)
    overall = sum(ratio.values()) / len(ratio) if ratio else 0.0
    for per_source in rows.values():
        for source, row in per_source.items():
            row["tokens"] = round(row["bytes"] / ratio.get(source, overall)) if overall else 0
    report = {"run": str(run_dir), "stages": rows, "bytes_per_token": ratio,
              "tokens_note": "tokens are counted at the tokenize stage; earlier stages are estimated from each "
                             "source's bytes per token there"}
    write_text(str(run_dir / "curate.json"), json.dumps(report, indent=2) + "\n")
    if rows:
        bar_plot(run_dir / "curate.png", {stage: {s: r["documents"] for s, r in per_source.items()}
                                          for stage, per_source in rows.items()},
                 title="documents per source after each stage", ylabel="documents")
    write_text(str(run_dir / "curate.md"), _markdown(rows))
    print(_markdown(rows))
    return report


def _bytes_per_token(records: list[dict[str, Any]], rows: dict[str, dict[str, dict[str, int]]]) -> dict[str, float]:
    tokenized = next((r["result"] for r in records if "tokens_per_source" in r["result"]), None)
    if tokenized is None or not rows:
        return {}
    last = list(rows.values())[-1]
    return {s: last[s]["bytes"] / max(t - last[s]["documents"], 1) for s, t in tokenized["tokens_per_source"].items()
            if s in last}


def _markdown(rows: dict[str, dict[str, dict[str, int]]]) -> str:
    stages = list(rows)
    sources = sorted({s for per_source in rows.values() for s in per_source})
    lines = ["# Curation: documents (tokens) per source after each stage", "",
             "| source | " + " | ".join(stages) + " |", "|---|" + "---|" * len(stages)]
    for source in sources:
        cells = [f"{rows[st][source]['documents']:,} ({rows[st][source]['tokens']:,})" if source in rows[st] else "0"
                 for st in stages]
        lines.append(f"| {source} | " + " | ".join(cells) + " |")
    totals = [f"{sum(r['documents'] for r in rows[st].values()):,} ({sum(r['tokens'] for r in rows[st].values()):,})"
              for st in stages]
    lines.append("| **total** | " + " | ".join(totals) + " |")
    lines.append("")
    lines.append("![documents per source after each stage](curate.png)")
    return "\n".join(lines) + "\n"
