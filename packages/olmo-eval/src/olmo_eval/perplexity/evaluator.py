"""Paloma-style perplexity: bits per byte and token perplexity per domain, averaged per source.

Each document is scored on its own (no concatenation) with the windows of :mod:`olmo_eval.perplexity.windows`.
Within a domain the sums pool (``bits_per_byte = -sum(ll) / (ln 2 * sum(bytes))``,
``ppl_token = exp(-sum(ll) / sum(tokens))``); a source reports the mean of its domains (Paloma's macro
average), and the overall figure is the mean of the sources.

Each bits-per-byte figure carries a standard error over documents: a domain's is the ratio estimator's
(``stderr`` of the residuals ``bits_i - bpb * bytes_i``, over the mean bytes per document), and a mean of
independent figures has ``sqrt(sum se^2) / count``. A domain of one document has no standard error (``None``,
``null`` in JSON), nor has any mean over it: such a figure is shown without an interval.
"""

from __future__ import annotations

import functools
import math
import posixpath
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from olmo_core.config import positive
from olmo_core.documents import Document, document_files, read_documents
from olmo_core.errors import ConfigError
from olmo_core.jobs import Report, markdown_table
from olmo_core.stats import half_width, mean_stderr, plus_minus, stderr
from olmo_core.tokenizer import Tokenizer

from olmo_eval.downstream import input_length
from olmo_eval.evaluator import Evaluation, Evaluator
from olmo_eval.perplexity.heldout import HELD_OUT_SETS, held_out_documents
from olmo_eval.perplexity.windows import windows
from olmo_eval.scoring.rows import Row

__all__ = ["PerplexityEvalConfig", "PerplexityEvaluator", "PerplexityResult", "aggregate",
           "read_eval_documents"]


BUILT_IN = "built-in held-out sets"
"""What a result's ``input`` says when it scored the built-in held-out sets."""


@dataclass(kw_only=True)
class PerplexityEvalConfig:
    """Options of perplexity evaluation; the defaults are the pipeline's (three held-out sources, 10 documents)."""

    input: str | None = None
    """Dolma documents (a dataset directory, a glob or a file); default: the built-in held-out sets."""
    sets: dict[str, Any] = field(default_factory=lambda: dict(HELD_OUT_SETS))
    """Built-in sets used without ``input``: source -> the metadata field naming a document's domain."""
    held_out: list[str] | None = field(default_factory=lambda: ["c4", "wikipedia", "bible"])
    """Which of ``sets`` to read (``null``: all; the others hold long documents that take minutes on a CPU)."""
    domain_key: str = "subdomain"
    """The metadata field of an input document that names its domain (absent: its source)."""
    max_documents: int | None = positive(10)
    """Most documents per source (``null``: all)."""
    window: int | None = positive(None)
    """Tokens per window (default: the model's sequence length)."""
    batch_tokens: int = positive(16384)
    """Most tokens in one forward pass."""
    max_batch_size: int = positive(64)
    """Most windows in one forward pass."""


@dataclass(kw_only=True)
class PerplexityResult(Evaluation):
    """What :meth:`PerplexityEvaluator.evaluate` returns: records, per-domain and per-source figures, the mean."""

    title: ClassVar[str] = "Perplexity"
    records: list[dict[str, Any]] = field(default_factory=list)
    domains: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    bits_per_byte: float = float("nan")
    bits_per_byte_stderr: float | None = None
    ppl_token: float = float("nan")

    def summary(self) -> dict[str, Any]:
        return {"bits_per_byte": self.bits_per_byte, "bits_per_byte_stderr": self.bits_per_byte_stderr,
                "ppl_token": self.ppl_token, "sources": self.sources,
                "domains": self.domains, "documents": len(self.records)}

    def metrics(self) -> dict[str, float]:
        """``ppl/<source>/bits_per_byte``, ``ppl/<source>/ppl_token``, their means over sources
        (``ppl/bits_per_byte``, ``ppl/ppl_token``) and ``ppl_seconds``."""
        metrics = {f"ppl/{source}/{name}": figures[name] for source, figures in self.sources.items()
                   for name in ("bits_per_byte", "ppl_token")}
        return {**metrics, "ppl/bits_per_byte": self.bits_per_byte, "ppl/ppl_token": self.ppl_token,
                "ppl_seconds": self.meta.get("seconds", 0.0)}

    def samples(self) -> list[dict[str, Any]]:
        return self.records

    def table(self) -> str:  # per source (the mean of its domains), then per domain
        rows = []
        for source, figures in self.sources.items():
            rows.append([source, f"(mean of {figures['domains']})", _bpb(figures),
                         f"{figures['ppl_token']:.2f}", figures["documents"], "-"])
            rows += [[source, domain, _bpb(cell), f"{cell['ppl_token']:.2f}", cell["documents"],
                      cell["tokens"]] for domain, cell in sorted(self.domains[source].items())]
        overall = {"bits_per_byte": self.bits_per_byte, "bits_per_byte_stderr": self.bits_per_byte_stderr}
        rows.append(["**all**", "(mean of sources)", _bpb(overall), f"{self.ppl_token:.2f}",
                     len(self.records), "-"])
        header = ["source", "domain", "bits per byte ± 95%", "token perplexity", "documents", "tokens"]
        return "\n".join(markdown_table(header, rows)) + "\n"


def _bpb(figures: Mapping[str, Any]) -> str:
    return plus_minus(figures["bits_per_byte"], figures["bits_per_byte_stderr"], 4)


def _bold_value(shown: str) -> str:
    value, sep, half = shown.partition(" ± ")
    return f"**{value}**{sep}{half}"


def _domain(records: list[dict[str, Any]]) -> dict[str, Any]:
    ll, tokens, size = (sum(r[key] for r in records) for key in ("ll", "tokens", "bytes"))
    bpb = -ll / (math.log(2) * size)
    se = stderr([-r["ll"] / math.log(2) - bpb * r["bytes"] for r in records])
    return {"bits_per_byte": bpb, "bits_per_byte_stderr": None if se is None else se * len(records) / size,
            "ppl_token": math.exp(-ll / tokens), "documents": len(records), "tokens": int(tokens), "bytes": int(size)}


def aggregate(records: Iterable[dict[str, Any]]) -> PerplexityResult:
    """Pool records by (source, domain), average domains per source and sources overall."""
    result = PerplexityResult(records=list(records))
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in result.records:
        grouped.setdefault(r["source"], {}).setdefault(r["domain"], []).append(r)
    for source, domains in grouped.items():
        figures = result.domains[source] = {domain: _domain(cell) for domain, cell in domains.items()}
        result.sources[source] = {
            "bits_per_byte": sum(f["bits_per_byte"] for f in figures.values()) / len(figures),
            "bits_per_byte_stderr": mean_stderr([f["bits_per_byte_stderr"] for f in figures.values()]),
            "ppl_token": sum(f["ppl_token"] for f in figures.values()) / len(figures),
            "domains": len(figures), "documents": sum(f["documents"] for f in figures.values())}
    if result.sources:
        result.bits_per_byte = sum(s["bits_per_byte"] for s in result.sources.values()) / len(result.sources)
        result.bits_per_byte_stderr = mean_stderr([s["bits_per_byte_stderr"] for s in result.sources.values()])
        result.ppl_token = sum(s["ppl_token"] for s in result.sources.values()) / len(result.sources)
    return result


def check_held_out(c: PerplexityEvalConfig) -> None:
    """Refuse a ``held_out`` name that is not one of the built-in ``sets``."""
    unknown = [s for s in c.held_out or () if s not in c.sets]
    if unknown and c.input is None:
        raise ConfigError(f"held_out names {', '.join(unknown)}, not in its sets ({', '.join(c.sets)})")


def read_eval_documents(c: PerplexityEvalConfig) -> Iterator[tuple[Document, str]]:
    """``(document, domain)`` from the Dolma files at ``c.input`` (domain: ``metadata[domain_key]``, else the
    source), or, without ``input``, from the built-in held-out sets ``c.held_out`` of ``c.sets``."""
    if c.input is None:
        check_held_out(c)
        sets = c.sets if c.held_out is None else {s: c.sets[s] for s in c.held_out}
        yield from held_out_documents(sets, max_documents=c.max_documents)
        return
    counts: dict[str, int] = {}
    files = document_files(c.input)
    if not files:
        raise ConfigError(f"input={c.input}: no Dolma document files there")
    for file in files:
        for item in read_documents(file):
            if not isinstance(item, Document):
                raise ConfigError(f"{item.file} line {item.line}: {item.reason}")
            source = item.source or "documents"
            if c.max_documents is not None and counts.get(source, 0) >= c.max_documents:
                continue
            counts[source] = counts.get(source, 0) + 1
            item.source = source
            yield item, str(item.metadata.get(c.domain_key) or source)


class PerplexityEvaluator(Evaluator):
    """Score documents token by token and report bits per byte and perplexity."""

    def __init__(self, config: PerplexityEvalConfig | None = None) -> None:
        super().__init__(config or PerplexityEvalConfig())

    def prepare(self) -> None:
        self.documents  # noqa: B018

    def check(self) -> None:
        check_held_out(self.config)

    @functools.cached_property
    def documents(self) -> list[tuple[Document, str]]:
        """The config's ``(document, domain)`` pairs, read once."""
        return list(read_eval_documents(self.config))

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

    def evaluate(self, model: Any, tokenizer: Tokenizer, documents: Iterable[tuple[Document, str]] | None = None, *,
                 progress: bool = False) -> PerplexityResult:
        """Score every ``(document, domain)`` (default: the config's); documents without text are skipped."""
        from olmo_eval.scoring.engine import score_rows  # torch, when evaluating

        length = input_length(model, self.config.window, "window")
        docs = [(d, domain) for d, domain in (self.documents if documents is None else documents) if d.text]
        encoded = tokenizer.encode_batch([d.text for d, _ in docs])
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
        seconds = time.perf_counter() - start
        ll = [0.0] * len(docs)
        for owner, (logprobs, _) in zip(owners, scored):
            ll[owner] += sum(logprobs)
        records = []
        for (document, domain), tokens, total in zip(docs, encoded, ll):
            size = len(document.text.encode("utf-8"))
            records.append({"id": document.id, "source": document.source or "documents", "domain": domain,
                            "ll": total, "tokens": len(tokens), "bytes": size, "chars": len(document.text),
                            "bits_per_byte": -total / (math.log(2) * size)})
        result = aggregate(records)
        result.meta = {"seconds": round(seconds, 3), "input": self.config.input or BUILT_IN}
        return result

    @classmethod
    def compare(cls, name: str, evaluations: Mapping[str, Evaluation], workdir: str) -> tuple[dict[str, Any], Report]:
        """``bits_per_byte`` (model -> source -> bits per byte), ``bits_per_byte_stderr`` (likewise),
        ``<label>_bits_per_byte`` (the mean); a table of them with 95% intervals and ``bits_per_byte.png`` with
        95% error bars."""
        from olmo_core.plots import bar_plot

        results: Mapping[str, PerplexityResult] = evaluations  # type: ignore[assignment]
        bpb = {label: {s: f["bits_per_byte"] for s, f in e.sources.items()} for label, e in results.items()}
        se = {label: {s: f["bits_per_byte_stderr"] for s, f in e.sources.items()} for label, e in results.items()}
        rows = [[s, *(plus_minus(bpb[label][s], se[label][s]) for label in bpb)] for s in next(iter(bpb.values()))]
        rows.append(["**mean**", *(_bold_value(plus_minus(e.bits_per_byte, e.bits_per_byte_stderr))
                                   for e in results.values())])
        inputs = {str(e.meta["input"]) for e in results.values() if e.meta.get("input")} - {BUILT_IN}
        text = f"the documents of {', '.join(sorted(inputs))}" if inputs else "held-out text"
        lines = [(f"Bits per byte on {text} (lower is better), ± the half-width of its 95% interval over "
                  "documents (none where a domain has a single document):"), "",
                 *markdown_table(["source" if inputs else "held-out source", *bpb], rows)]
        figure = bar_plot(posixpath.join(workdir, "bits_per_byte.png"), bpb, title="bits per byte, held out",
                          ylabel="bits per byte",
                          errors={label: {s: half_width(v) for s, v in e.items()} for label, e in se.items()})
        metrics = {"bits_per_byte": bpb, "bits_per_byte_stderr": se,
                   **{f"{label}_bits_per_byte": round(e.bits_per_byte, 4) for label, e in results.items()}}
        return metrics, Report(markdown="\n".join(lines), figures=[str(figure)])
