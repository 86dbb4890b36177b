"""``olmo eval downstream`` and ``olmo eval perplexity``: evaluate a checkpoint and write its results."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

from olmo_core.config import REQUIRED, components

from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator
from olmo_eval.loading import EvalModel, load_eval_model
from olmo_eval.perplexity.evaluator import PerplexityEvalConfig, PerplexityEvaluator
from olmo_eval.perplexity.heldout import HELD_OUT_SETS
from olmo_eval.results import downstream_table, perplexity_table, write_downstream, write_perplexity
from olmo_eval.sources import build_tasks, read_eval_documents

__all__ = ["DEFAULT_TASKS", "DownstreamCommandConfig", "PerplexityCommandConfig", "downstream_command",
           "perplexity_command"]

DEFAULT_TASKS = ["arc_easy", "arc_challenge", "boolq", "copa", "hellaswag", "openbookqa", "piqa", "sciq", "winogrande"]
"""The paper's nine tasks (Table 3)."""


@dataclass(kw_only=True)
class ModelOptions:
    """Which model to evaluate and where."""

    checkpoint: str = REQUIRED
    """An olmo checkpoint (``stepN`` directory), a run directory (its newest checkpoint) or a transformers
    OLMo directory."""
    output: str = REQUIRED
    """Directory for ``results.json``, ``samples.jsonl`` and ``results.md``."""
    tokenizer: str | None = None
    """Tokenizer (registered name or path); default: the one saved with the model."""
    device: str = "auto"
    """``cpu``, ``cuda``, ``cuda:1`` ...; ``auto`` takes a GPU when there is one."""
    threads: int | None = None
    """CPU threads for torch (default: torch's own choice)."""


@dataclass(kw_only=True)
class DownstreamCommandConfig(DownstreamEvalConfig, ModelOptions):
    """Options of ``olmo eval downstream``."""

    tasks: Any = components("tasks", default=DEFAULT_TASKS, help="the tasks to evaluate")
    task_files: list[str] = field(default_factory=list)
    """JSON-lines task files (context, choices, gold per line), each evaluated as a task named after its file."""


@dataclass(kw_only=True)
class PerplexityCommandConfig(PerplexityEvalConfig, ModelOptions):
    """Options of ``olmo eval perplexity``."""

    input: str | None = None
    """Dolma documents (a dataset directory, a glob or a file); default: the built-in held-out sets."""
    sets: dict[str, Any] = field(default_factory=lambda: dict(HELD_OUT_SETS))
    """Built-in sets used without ``input``: source -> the metadata field naming a document's domain."""
    domain_key: str = "subdomain"
    """The metadata field of an input document that names its domain (absent: its source)."""
    max_documents: int | None = None
    """Most documents per source."""


def _model(config: ModelOptions) -> EvalModel:
    import torch

    if config.threads:
        torch.set_num_threads(config.threads)
    device = config.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    loaded = load_eval_model(config.checkpoint, tokenizer=config.tokenizer, device=device)
    print(f"evaluating {loaded.path} ({loaded.kind}{f', step {loaded.step}' if loaded.step is not None else ''}) "
          f"on {device} with tokenizer {loaded.tokenizer.name}", file=sys.stderr, flush=True)
    return loaded


def _meta(config: ModelOptions, loaded: EvalModel, seconds: float) -> dict[str, Any]:
    return {"checkpoint": str(loaded.path), "kind": loaded.kind, "step": loaded.step,
            "tokenizer": loaded.tokenizer.identity, "seconds": round(seconds, 3)}


def downstream_command(config: DownstreamCommandConfig) -> dict[str, Any]:
    """Score a model on downstream tasks by rank classification and write ``results.json`` (per task: the
    Table 3 metric beside chance, every normalization), ``samples.jsonl`` (one line per document and choice:
    context, continuation, log-likelihood, token/char/byte counts) and ``results.md``."""
    loaded = _model(config)
    tasks = build_tasks(config.tasks or {}, config.task_files)
    evaluator = DownstreamEvaluator(DownstreamEvalConfig(**{k: getattr(config, k) for k in
                                                            DownstreamEvalConfig.__dataclass_fields__}))
    results = evaluator.evaluate(loaded.model, loaded.tokenizer, tasks, progress=True)
    requests = sum(r.requests for r in results)
    meta = {**_meta(config, loaded, evaluator.seconds), "requests": requests, "limit": config.limit,
            "seed": config.seed, "unconditional_prompt": config.unconditional_prompt if config.unconditional else None}
    paths = write_downstream(config.output, results, meta)
    print(downstream_table(results), end="")
    print(f"{len(results)} tasks, {sum(r.documents for r in results):,} documents, {requests:,} requests in "
          f"{evaluator.seconds:.1f}s ({requests / max(evaluator.seconds, 1e-9):,.0f} requests/s); "
          f"wrote {os.path.dirname(paths['results'])}/{{results.json,samples.jsonl,results.md}}")
    return {"tasks": {r.task: r.summary() for r in results}, **{k: str(v) for k, v in paths.items()}}


def perplexity_command(config: PerplexityCommandConfig) -> dict[str, Any]:
    """Bits per byte and token perplexity of a model on Dolma documents (or the built-in held-out sets), per
    domain and averaged per source, with Paloma's windows; writes ``results.json``, ``samples.jsonl`` (one
    line per document) and ``results.md``."""
    loaded = _model(config)
    documents = read_eval_documents(config.input, domain_key=config.domain_key, sets=config.sets,
                                    max_documents=config.max_documents)
    evaluator = PerplexityEvaluator(PerplexityEvalConfig(**{k: getattr(config, k) for k in
                                                            PerplexityEvalConfig.__dataclass_fields__}))
    result = evaluator.evaluate(loaded.model, loaded.tokenizer, documents, progress=True)
    meta = {**_meta(config, loaded, evaluator.seconds), "input": config.input or "built-in held-out sets"}
    paths = write_perplexity(config.output, result, meta)
    print(perplexity_table(result), end="")
    tokens = sum(r["tokens"] for r in result.records)
    print(f"{len(result.records):,} documents, {tokens:,} tokens in {evaluator.seconds:.1f}s; bits per byte "
          f"{result.bits_per_byte:.4f} (mean of {len(result.sources)} sources); "
          f"wrote {os.path.dirname(paths['results'])}/{{results.json,samples.jsonl,results.md}}")
    return {**result.summary(), **{k: str(v) for k, v in paths.items()}}
