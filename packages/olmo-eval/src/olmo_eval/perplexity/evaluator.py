"""Paloma-style perplexity: bits per byte and token perplexity per domain, averaged per source.

Each document is scored on its own (no concatenation) with the windows of :mod:`olmo_eval.perplexity.windows`.
Within a domain the sums pool (``bits_per_byte = -sum(ll) / (ln 2 * sum(bytes))``,
``ppl_token = exp(-sum(ll) / sum(tokens))``); a source reports the mean of its domains (Paloma's macro
average), and the overall figure is the mean of the sources.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from olmo_core.documents import Document
from olmo_core.tokenizer import Tokenizer

from olmo_eval.downstream import model_max_length
from olmo_eval.perplexity.windows import windows
from olmo_eval.scoring.rows import Row

__all__ = ["PerplexityEvalConfig", "PerplexityEvaluator", "PerplexityResult", "aggregate"]


@dataclass(kw_only=True)
class PerplexityEvalConfig:
    """Options of perplexity evaluation."""

    window: int | None = None
    """Tokens per window (default: the model's sequence length)."""
    batch_tokens: int = 16384
    """Most tokens in one forward pass."""
    max_batch_size: int = 64
    """Most windows in one forward pass."""


@dataclass(kw_only=True)
class PerplexityResult:
    """Per-document records, per-domain and per-source figures, and the overall mean."""

    records: list[dict[str, Any]] = field(default_factory=list)
    domains: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    sources: dict[str, dict[str, float]] = field(default_factory=dict)
    bits_per_byte: float = float("nan")
    ppl_token: float = float("nan")

    def summary(self) -> dict[str, Any]:
        """Everything but the records, JSON-able."""
        return {"bits_per_byte": self.bits_per_byte, "ppl_token": self.ppl_token, "sources": self.sources,
                "domains": self.domains, "documents": len(self.records)}


def aggregate(records: Iterable[dict[str, Any]]) -> PerplexityResult:
    """Pool records by (source, domain), average domains per source and sources overall."""
    result = PerplexityResult(records=list(records))
    pooled: dict[str, dict[str, dict[str, float]]] = {}
    for r in result.records:
        cell = pooled.setdefault(r["source"], {}).setdefault(r["domain"], dict.fromkeys(
            ("ll", "tokens", "bytes", "documents"), 0.0))
        cell["ll"] += r["ll"]
        cell["tokens"] += r["tokens"]
        cell["bytes"] += r["bytes"]
        cell["documents"] += 1
    for source, domains in pooled.items():
        figures = {}
        for domain, cell in domains.items():
            figures[domain] = {"bits_per_byte": -cell["ll"] / (math.log(2) * cell["bytes"]),
                               "ppl_token": math.exp(-cell["ll"] / cell["tokens"]),
                               "documents": int(cell["documents"]), "tokens": int(cell["tokens"]),
                               "bytes": int(cell["bytes"])}
        result.domains[source] = figures
        result.sources[source] = {
            "bits_per_byte": sum(f["bits_per_byte"] for f in figures.values()) / len(figures),
            "ppl_token": sum(f["ppl_token"] for f in figures.values()) / len(figures),
            "domains": len(figures), "documents": sum(f["documents"] for f in figures.values())}
    if result.sources:
        result.bits_per_byte = sum(s["bits_per_byte"] for s in result.sources.values()) / len(result.sources)
        result.ppl_token = sum(s["ppl_token"] for s in result.sources.values()) / len(result.sources)
    return result


class PerplexityEvaluator:
    """Score documents token by token and report bits per byte and perplexity."""

    def __init__(self, config: PerplexityEvalConfig | None = None) -> None:
        self.config = config or PerplexityEvalConfig()
        self.seconds = 0.0
        """Wall time of the last :meth:`evaluate`'s scoring pass."""

    def document_rows(self, tokens: list[int], prefix: int, length: int) -> list[Row]:
        """The rows that score one document's ``tokens`` (the windows, each a plain causal row)."""
        stream = [prefix, *tokens]
        rows = []
        for w in windows(len(tokens), length):
            row = Row.causal(stream[w.start:w.end])
            n = w.end - w.start
            row.predictors = list(range(n - w.targets, n))
            row.targets = stream[w.end - w.targets + 1:w.end + 1]
            rows.append(row)
        return rows

    def evaluate(self, model: Any, tokenizer: Tokenizer, documents: Iterable[tuple[Document, str]], *,
                 progress: bool = False) -> PerplexityResult:
        """Score every ``(document, domain)``; documents without text are skipped."""
        from olmo_eval.scoring.engine import score_rows  # torch, when evaluating

        docs = [(d, domain) for d, domain in documents if d.text]
        encoded = tokenizer.encode_batch([d.text for d, _ in docs])
        length = self.config.window or model_max_length(model)
        rows: list[Row] = []
        owners: list[int] = []
        for index, tokens in enumerate(encoded):
            for row in self.document_rows(tokens, tokenizer.eos_token_id, length):
                rows.append(row)
                owners.append(index)
        start = time.perf_counter()
        scored = score_rows(model, rows, pad_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                            batch_tokens=self.config.batch_tokens, max_batch_size=self.config.max_batch_size,
                            progress="perplexity" if progress else None)
        self.seconds = time.perf_counter() - start
        ll = [0.0] * len(docs)
        for owner, (logprobs, _) in zip(owners, scored):
            ll[owner] += sum(logprobs)
        records = []
        for (document, domain), tokens, total in zip(docs, encoded, ll):
            size = len(document.text.encode("utf-8"))
            records.append({"id": document.id, "source": document.source or "documents", "domain": domain,
                            "ll": total, "tokens": len(tokens), "bytes": size, "chars": len(document.text),
                            "bits_per_byte": -total / (math.log(2) * size)})
        return aggregate(records)
