"""The ``tokenize`` job (``olmo data tokenize``): documents to the token arrays a trainer reads."""

from __future__ import annotations

import json
import logging
import os
import posixpath
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from olmo_core.artifacts import Dataset, TokenArrays
from olmo_core.cache import content_key
from olmo_core.config import non_negative, positive
from olmo_core.documents import Document, document_files, require_documents
from olmo_core.io import exists, local_directory, read_text, remove_temporaries, write_text
from olmo_core.jobs import Job, JobResult, Report, Slot
from olmo_core.progress import Progress
from olmo_core.token_arrays import TokenArrayWriter, sibling
from olmo_core.tokenizer import ENCODE_PIECE_CHARS, load_tokenizer

from olmo_data.layout import DOCUMENTS_HELP, counted, counted_line, report_name, reporting, select_shard, shared_output
from olmo_data.parallel import map_shards, read_counted, resolve_workers

__all__ = ["TokenizeConfig", "TokenizeJob", "tokenize"]

log = logging.getLogger(__name__)

STREAM_ABOVE_CHARS = 1 << 20
"""Longer texts are encoded alone, in pieces that stream out (:meth:`~olmo_core.tokenizer.Tokenizer.encode_pieces`);
shorter ones in batches."""


@dataclass(kw_only=True)
class TokenizeConfig:
    """Options of the ``tokenize`` job (``olmo data tokenize``)."""

    tokenizer: str = "olmo-v1.5"
    """A registered tokenizer or a path to a tokenizer.json (or a directory holding one)."""
    workers: int = non_negative(1)
    """Processes tokenizing files in parallel (0: one per CPU core); the output does not depend on it."""
    shard: str | None = None
    """Handle only shard ``i/N`` of the input files (every N-th from the i-th), for sweeps across machines."""
    batch_size: int = positive(512)
    """Documents encoded per call to the tokenizer."""
    force: bool = False
    """Tokenize again parts that are already complete for the same input content and tokenizer."""


@dataclass(frozen=True)
class _Job:
    index: int
    file: str
    output: str
    tokenizer: str
    batch_size: int
    force: bool
    single_threaded: bool


def _part(job: _Job) -> dict[str, Any]:
    if job.single_threaded:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
    tokenizer = load_tokenizer(job.tokenizer)
    target = f"{job.output.rstrip('/')}/part-{job.index:05d}.npy"
    meta_file = sibling(target, ".meta.json")
    key = content_key([job.file], tokenizer.sha256)
    if exists(meta_file) and not job.force:
        meta = json.loads(read_text(meta_file))
        if meta.get("inputs_key") == key:
            return {**meta, "skipped": True, "counts": _token_counts(target, tokenizer.vocab_size)}
    quarantined: Counter[str] = Counter()
    text_bytes = 0
    counts = np.zeros(tokenizer.vocab_size, dtype=np.int64)
    writer = TokenArrayWriter(target, tokenizer=tokenizer.identity, eos_token_id=tokenizer.eos_token_id,
                              vocab_size=tokenizer.vocab_size)
    batch: list[Document] = []

    def counting(pieces: Iterator[list[int]]) -> Iterator[list[int]]:  # each piece counted once the writer took it
        for ids in pieces:
            yield ids
            counts[:] += np.bincount(ids, minlength=tokenizer.vocab_size)

    def flush() -> None:
        encoded = tokenizer.encode_batch([d.text for d in batch], add_eos=True)
        for doc, ids in zip(batch, encoded, strict=True):
            writer.add(ids[:-1], document_id=doc.id, source=doc.source, line=doc.line)
        if encoded:
            counts[:] += np.bincount(np.concatenate([np.asarray(ids) for ids in encoded]),
                                     minlength=tokenizer.vocab_size)
        batch.clear()

    try:
        for item in read_counted(job.file):
            if isinstance(item, Document):
                text_bytes += len(item.text.encode("utf-8"))
                if len(item.text) > STREAM_ABOVE_CHARS:
                    flush()
                    writer.add_pieces(counting(tokenizer.encode_pieces(item.text, window=ENCODE_PIECE_CHARS)),
                                      document_id=item.id, source=item.source, line=item.line)
                    counts[tokenizer.eos_token_id] += 1
                    continue
                batch.append(item)
                if len(batch) >= job.batch_size:
                    flush()
            else:
                quarantined[item.kind] += 1
        flush()
    except BaseException:
        writer.abort()
        raise
    meta = writer.close(input=job.file, inputs_key=key, text_bytes=text_bytes, quarantined=dict(quarantined))
    return {**meta, "counts": counts}


def _token_counts(npy: str, vocab_size: int) -> np.ndarray:
    """Token counts of a part written earlier (a part that is kept is read back for them)."""
    from olmo_core.token_arrays import open_token_array

    return np.bincount(np.asarray(open_token_array(npy).tokens), minlength=vocab_size)


def unigram_entropy(counts: np.ndarray) -> float:
    """Entropy in nats of the token distribution: the loss of a model that knows only token frequencies."""
    total = counts.sum()
    if not total:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log(p)).sum())


def tokenize(config: TokenizeConfig, input: str, output: str) -> dict[str, Any]:
    """Tokenize the documents ``input`` names into token arrays in ``output`` (``part-NNNNN.npy`` with
    ``.csv.gz`` and ``.meta.json``): each document's ids followed by EOS, one part per input file, with a
    sidecar tracing every token to its document. Parts already complete for the same input content and
    tokenizer (``inputs_key`` in their ``.meta.json``) are kept (``force=true`` redoes them), so an interrupted
    run resumes.
    """
    skipped: dict[str, str] = {}
    files = document_files(input, skipped=skipped)
    tokenizer = load_tokenizer(config.tokenizer)
    remove_temporaries(output)
    chosen = select_shard(files, config.shard)
    workers = resolve_workers(config.workers, len(chosen))
    jobs = [_Job(i, f, output, config.tokenizer, config.batch_size, config.force, workers > 1)
            for i, f in chosen]
    parts: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()
    report_path = f"{output.rstrip('/')}/{report_name('tokenize', config.shard)}.json"

    def summary(error: str | None) -> dict[str, Any]:
        documents, quarantined = sum(p["documents"] for p in parts), sum(reasons.values())
        return {"command": "data tokenize", "shard": config.shard, "files": len(jobs), "files_done": len(parts),
                "complete": error is None, **({"error": error} if error else {}),
                **counted(documents + quarantined, written=documents, quarantined=quarantined),
                "quarantine_reasons": dict(reasons), "skipped_files": skipped}

    with reporting(report_path, summary), Progress("tokenizing", unit="docs") as progress:
        for meta in map_shards(_part, jobs, workers=workers, progress=progress.update):
            parts.append(meta)
            reasons.update(meta["quarantined"])
            progress.advance(meta["documents"] if meta.get("skipped") else 0,  # a kept part is not read again
                             postfix=f"{sum(p['tokens'] for p in parts):,} tokens")
        require_documents(summary(None)["records"], sum(p["documents"] for p in parts), input=input,
                          step="olmo data tokenize", reasons=reasons, report=report_path)
    per_source: Counter[str] = Counter()
    counts = np.zeros(tokenizer.vocab_size, dtype=np.int64)
    for part in parts:
        per_source.update(part["tokens_per_source"])
        counts += part.pop("counts")
    tokens, text_bytes = sum(p["tokens"] for p in parts), sum(p["text_bytes"] for p in parts)
    report = {**summary(None), "tokenizer": tokenizer.identity, "parts": len(parts), "tokens": tokens,
              "documents": sum(p["documents"] for p in parts), "text_bytes": text_bytes,
              "bytes_per_token": round(text_bytes / max(tokens - sum(p["documents"] for p in parts), 1), 4),
              "tokens_per_source": dict(sorted(per_source.items())),
              "unigram_entropy_nats": round(unigram_entropy(counts), 4),
              "skipped_parts": sum(bool(p.get("skipped")) for p in parts)}
    write_text(report_path, json.dumps(report, indent=2) + "\n")
    log.info(f"tokenized {report['documents']:,} documents into {tokens:,} tokens ({report['bytes_per_token']} "
             f"bytes per token, EOS excluded) in {len(parts)} parts with {tokenizer.name}; {counted_line(report)}"
             + (f"; {report['skipped_parts']} parts were already complete" if report["skipped_parts"] else "")
             + f"; unigram entropy {report['unigram_entropy_nats']} nats")
    for source, count in report["tokens_per_source"].items():
        log.info(f"  {source}: {count:,} tokens")
    log.info(f"token arrays: {output}")
    return report


class TokenizeJob(Job):
    """Tokenize documents into the token arrays a trainer reads, with the tokenizer that made them."""

    command = "data tokenize"
    inputs: ClassVar[dict[str, Slot]] = {"input": Slot(Dataset, help=DOCUMENTS_HELP)}
    outputs: ClassVar[dict[str, Slot]] = {"tokens": Slot(TokenArrays, help="token-array parts")}

    def run(self, config: TokenizeConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        """Tokenize; metrics: the tokenize report (tokens, documents, tokens_per_source, tokenizer, unigram
        entropy ...)."""
        output = shared_output(workdir)
        report = tokenize(config, inputs["input"].path, output)
        tokens = TokenArrays(path=output, tokenizer=report["tokenizer"]["name"],
                             unigram_entropy_nats=report["unigram_entropy_nats"])
        return JobResult(outputs={"tokens": tokens}, metrics=report)

    def report(self, result: JobResult) -> Report:
        """The ``## Tokens`` paragraph and a figure of tokens per source (a note instead without matplotlib)."""
        from olmo_core import plots

        m = result.metrics
        lines = ["## Tokens", "", f"{m['tokens']:,} tokens ({m['bytes_per_token']} bytes per token) from "
                 f"{m['documents']:,} documents, tokenizer {m['tokenizer']['name']}; unigram entropy "
                 f"{m['unigram_entropy_nats']} nats (the loss of a model that knows only token frequencies).", ""]
        if not plots.available():
            return Report(markdown="\n".join([*lines, plots.missing_note("tokens per source")]))
        with local_directory(result.workdir) as folder:  # a scratch folder, uploaded, when the workdir is remote
            plots.bar_plot(Path(folder) / "tokens.png", m["tokens_per_source"], title="tokens per source",
                           ylabel="tokens")
        figure = posixpath.join(result.workdir, "tokens.png")
        return Report(markdown="\n".join([*lines, f"![tokens per source]({figure})"]), figures=[figure])
