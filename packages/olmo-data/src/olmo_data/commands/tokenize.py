"""The ``tokenize`` job (``olmo data tokenize``): documents to the token arrays a trainer reads."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from fsspec.core import url_to_fs

from olmo_core.artifacts import Dataset, TokenArrays
from olmo_core.cache import content_key
from olmo_core.config import names, non_negative, positive
from olmo_core.documents import Document, DocumentRange, Quarantined, require_documents
from olmo_core.io import exists, local_directory, read_text, remove_temporaries, write_text
from olmo_core.jobs import Job, JobResult, Report, Slot
from olmo_core.progress import Progress
from olmo_core.errors import OlmoError
from olmo_core.token_arrays import TokenArrayWriter, dtype_for, sibling
from olmo_core.tokenizer import ENCODE_PIECE_CHARS, load_tokenizer

from olmo_data.layout import (DOCUMENTS_HELP, Layout, amount, check_output_apart, counted, counted_line, find_layout,
                              remove_stale, report_name, reporting, select_shard, shared_output, stale_removed)
from olmo_data.parallel import (PART_BYTES, Part, joined_quarantine, map_shards, part_file, per_file, resolve_workers,
                                scratch_folder, split_file)
from olmo_data.parallel import counted as counted_records

__all__ = ["TokenizeConfig", "TokenizeJob", "tokenize"]

log = logging.getLogger(__name__)

STREAM_ABOVE_CHARS = 1 << 20
"""Longer texts are encoded alone, in pieces that stream out (:meth:`~olmo_core.tokenizer.Tokenizer.encode_pieces`);
shorter ones in batches."""


@dataclass(kw_only=True)
class TokenizeConfig:
    """Options of the ``tokenize`` job (``olmo data tokenize``)."""

    tokenizer: str = names("tokenizers", "olmo-v1.5")
    """A registered tokenizer or a path to a tokenizer.json (or a directory holding one)."""
    workers: int = non_negative(1)
    """Processes tokenizing files, and parts of large files, in parallel (0: one per CPU core); the output does
    not depend on it."""
    part_bytes: int = positive(PART_BYTES)
    """Files with more content than this (32 MiB) are tokenized in parts of this size, in parallel; the output
    does not depend on it."""
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
    quarantine: Layout
    """Where the file's quarantined lines are kept (:meth:`~olmo_data.layout.Layout.keep_quarantined`)."""
    tokenizer: str
    batch_size: int
    single_threaded: bool

    @property
    def target(self) -> str:
        """The token array this file becomes."""
        return f"{self.output.rstrip('/')}/part-{self.index:05d}.npy"


@dataclass(frozen=True)
class _Task:
    """One part of one file's job (a file of one part is its whole job); a split file's part writes its tokens in
    ``scratch``."""

    job: _Job
    part: Part
    scratch: str


@dataclass
class _Tokenized:
    """What a part of a split file tokenized: its tokens (EOS left out) are in the temporary file ``tokens``, and
    ``documents`` says whose they are, in order: (tokens, id, source, line from the part's first line)."""

    tokens: str
    documents: list[tuple[int, str, str, int]]
    lines: int
    """The part's lines (blank ones included), by which the quarantined records of the parts after it are
    renumbered."""
    counts: np.ndarray
    text_bytes: int
    held: list[Quarantined]
    """The part's quarantined records, numbered from its first line."""
    inputs_key: str | None
    """The file's content key (the first part computes it)."""


@dataclass(frozen=True)
class _Earlier:
    """What a run made earlier of a job's file: ``meta``, with its token counts, when that part is complete for
    the same content and tokenizer; else ``damaged``, why its files cannot be kept (``None`` when the part was
    made from other content or with another tokenizer, which is no damage)."""

    meta: dict[str, Any] | None = None
    damaged: str | None = None


def _damage(target: str, meta: dict[str, Any]) -> str | None:
    """Why the token array ``target`` is not the one its ``meta`` records (missing, another size, another sha256
    when ``meta`` has one; or its sidecar missing), or ``None`` when it is intact."""
    fs, path = url_to_fs(target)
    if not fs.exists(path):
        return "its token file is missing"
    if not exists(sibling(target, ".csv.gz")):
        return "its sidecar .csv.gz is missing"
    expected = int(meta.get("tokens", 0)) * np.dtype(meta.get("dtype", "<u2")).itemsize
    if (size := int(fs.size(path))) != expected:
        return f"its token file is {amount(size, 'byte')}, not the {expected:,} its .meta.json records"
    if "sha256" in meta:
        with fs.open(path, "rb") as f:
            if hashlib.file_digest(f, "sha256").hexdigest() != meta["sha256"]:
                return "its token file's sha256 is not the one its .meta.json records"
    return None


def _kept(job: _Job) -> _Earlier:
    """The metadata of the token array a run made earlier from the same content with the same tokenizer, if its
    token file is intact; else why it is not (:func:`_damage`)."""
    meta_file = sibling(job.target, ".meta.json")
    if not exists(meta_file):
        return _Earlier()
    tokenizer = load_tokenizer(job.tokenizer)
    meta = json.loads(read_text(meta_file))
    if meta.get("inputs_key") != content_key([job.file], tokenizer.sha256):
        return _Earlier()
    if (damaged := _damage(job.target, meta)) is not None:
        return _Earlier(damaged=damaged)
    return _Earlier(meta={**meta, "skipped": True, "counts": _token_counts(job.target, tokenizer.vocab_size)})


def _tokenize(task: _Task) -> dict[str, Any] | _Tokenized:
    """Tokenize a whole file into its token array (its metadata is returned) and keep its quarantined lines, or a
    part of a split file into a temporary file for :func:`_assemble`, its quarantined records held."""
    job = task.job
    if job.single_threaded:
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
    tokenizer = load_tokenizer(job.tokenizer)
    if task.part.whole:
        writer = TokenArrayWriter(job.target, tokenizer=tokenizer.identity, eos_token_id=tokenizer.eos_token_id,
                                  vocab_size=tokenizer.vocab_size)
        try:
            found = _encode(task.part.records(), tokenizer, job.batch_size, writer.add_pieces)
        except BaseException:
            writer.abort()
            raise
        quarantined = job.quarantine.keep_quarantined(job.file, found.quarantined, replace=True)
        meta = writer.close(input=job.file, inputs_key=content_key([job.file], tokenizer.sha256),
                            text_bytes=found.text_bytes, quarantined=dict(quarantined))
        return {**meta, "counts": found.counts}
    dtype = dtype_for(tokenizer.vocab_size)
    path = part_file(task.scratch)
    documents: list[tuple[int, str, str, int]] = []
    try:
        with open(path, "wb") as out:
            def add(pieces: Iterator[Sequence[int]], *, document_id: str, source: str, line: int) -> None:
                size = 0
                for ids in pieces:
                    array = np.asarray(ids, dtype=np.int64)
                    _check_ids(array, tokenizer.vocab_size, document_id)
                    out.write(array.astype(dtype).tobytes())
                    size += array.size
                documents.append((size, document_id, source, line))

            records = task.part.records()
            found = _encode(records, tokenizer, job.batch_size, add)
        key = content_key([job.file], tokenizer.sha256) if task.part.index == 0 else None
    except BaseException:
        os.unlink(path)
        raise
    return _Tokenized(path, documents, records.lines if isinstance(records, DocumentRange) else 0, found.counts,
                      found.text_bytes, found.quarantined, key)


def _check_ids(array: np.ndarray, vocab_size: int, document_id: str) -> None:
    if array.size and int(array.max()) >= vocab_size:
        raise OlmoError(f"document {document_id} has token id {int(array.max())} outside the vocabulary of "
                        f"{vocab_size}")


@dataclass
class _Encoded:
    counts: np.ndarray
    text_bytes: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)


def _encode(records: Iterable[Document | Quarantined], tokenizer: Any, batch_size: int,
            add: Callable[..., None]) -> _Encoded:
    """Encode the documents of ``records`` in batches (a long one alone, in pieces) and ``add`` each one's ids
    in order, without EOS, as pieces (``add(pieces, document_id=, source=, line=)``); count their tokens (EOS
    included) and gather the quarantined records."""
    found = _Encoded(counts=np.zeros(tokenizer.vocab_size, dtype=np.int64))
    counts = found.counts
    batch: list[Document] = []

    def counting(pieces: Iterator[list[int]]) -> Iterator[list[int]]:  # each piece counted once the writer took it
        for ids in pieces:
            yield ids
            counts[:] += np.bincount(ids, minlength=tokenizer.vocab_size)

    def flush() -> None:
        encoded = tokenizer.encode_batch([d.text for d in batch], add_eos=True)
        for doc, ids in zip(batch, encoded, strict=True):
            add([ids[:-1]], document_id=doc.id, source=doc.source, line=doc.line)
        if encoded:
            counts[:] += np.bincount(np.concatenate([np.asarray(ids) for ids in encoded]),
                                     minlength=tokenizer.vocab_size)
        batch.clear()

    for item in counted_records(records):
        if isinstance(item, Document):
            found.text_bytes += len(item.text.encode("utf-8"))
            if len(item.text) > STREAM_ABOVE_CHARS:
                flush()
                add(counting(tokenizer.encode_pieces(item.text, window=ENCODE_PIECE_CHARS)),
                    document_id=item.id, source=item.source, line=item.line)
                counts[tokenizer.eos_token_id] += 1
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                flush()
        else:
            found.quarantined.append(item)
    flush()
    return found


ASSEMBLY_PIECE = 1 << 20
"""Tokens handed to the writer at a time when a split file's parts are put together."""


def _assemble(job: _Job, parts: list[dict[str, Any] | _Tokenized], tokenizer: Any) -> dict[str, Any]:
    """The token array of a file tokenized in ``parts`` (a whole file's was written by its worker): the parts'
    tokens and documents in order, their lines numbered in the file, through the same writer, so that every file
    is the one a single process writes; its quarantine is kept from theirs, renumbered."""
    if len(parts) == 1 and isinstance(parts[0], dict):
        return parts[0]
    split = [p for p in parts if isinstance(p, _Tokenized)]
    try:
        writer = TokenArrayWriter(job.target, tokenizer=tokenizer.identity, eos_token_id=tokenizer.eos_token_id,
                                  vocab_size=tokenizer.vocab_size)
        try:
            before = 0
            for part in split:
                tokens = np.fromfile(part.tokens, dtype=writer.dtype)
                position = 0
                for size, document_id, source, line in part.documents:
                    end = position + size
                    writer.add_pieces((tokens[s:min(s + ASSEMBLY_PIECE, end)]
                                       for s in range(position, end, ASSEMBLY_PIECE)),
                                      document_id=document_id, source=source, line=line + before)
                    position = end
                before += part.lines
        except BaseException:
            writer.abort()
            raise
        quarantined = job.quarantine.keep_quarantined(job.file, joined_quarantine((p.held, p.lines) for p in split),
                                                      replace=True)
        meta = writer.close(input=job.file, inputs_key=split[0].inputs_key,
                            text_bytes=sum(p.text_bytes for p in split), quarantined=dict(quarantined))
    finally:
        for part in split:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(part.tokens)
    return {**meta, "counts": sum(p.counts for p in split), "file_parts": len(split)}


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


PART_FILE = re.compile(r"part-(\d+)\.(npy|csv\.gz|meta\.json)")
"""The files of a token part (:class:`~olmo_core.token_arrays.TokenArrayWriter`), numbered by input file."""


def _remove_stale_parts(output: str, files: int) -> int:
    """Remove the files of the token parts an earlier run wrote in ``output`` for input files beyond the ``files``
    the input has now (part ``i`` is the ``i``-th input file's, whatever the shard): a trainer reads every complete
    part of the folder. Return how many files were removed."""
    fs, root = url_to_fs(output)
    if not fs.isdir(root):
        return 0
    stale = [path for path in fs.ls(root, detail=False)
             if (match := PART_FILE.fullmatch(posixpath.basename(path))) and int(match[1]) >= files]
    for path in stale:
        fs.rm(path)
    return len(stale)


def tokenize(config: TokenizeConfig, input: str, output: str) -> dict[str, Any]:
    """Tokenize the documents ``input`` names into token arrays in ``output`` (``part-NNNNN.npy`` with
    ``.csv.gz`` and ``.meta.json``): each document's ids followed by EOS, one part per input file, with a
    sidecar tracing every token to its document; invalid lines are kept under ``output``'s ``quarantine/`` with
    their file, line, reason and raw bytes (:meth:`~olmo_data.layout.Layout.keep_quarantined`). A file with more
    than ``part_bytes`` of content is read in parts tokenized in parallel (:func:`~olmo_data.parallel.split_file`)
    and written as one token array and one quarantine file, the same bytes as if it were read whole; the report
    counts the ``file_parts``. Parts already complete for the
    same input content and tokenizer (``inputs_key`` in their ``.meta.json``) are kept (``force=true`` redoes
    them), so an interrupted run resumes; a kept part's token file must still have the size and sha256 its
    ``.meta.json`` records (and its sidecar exist), or the part is tokenized again, with a warning saying why.
    """
    layout = find_layout(input, output)
    files, skipped = layout.files, layout.skipped
    tokenizer = load_tokenizer(config.tokenizer)
    remove_temporaries(output)
    removed = _remove_stale_parts(output, len(files)) + remove_stale(layout, files, folders=("quarantine",))
    stale = stale_removed(removed, output)
    quarantine = layout.for_workers()
    jobs = [_Job(i, f, output, quarantine, config.tokenizer, config.batch_size, False)
            for i, f in select_shard(files, config.shard)]
    parts: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()
    report_path = f"{output.rstrip('/')}/{report_name('tokenize', config.shard)}.json"

    def summary(error: str | None) -> dict[str, Any]:
        documents, quarantined = sum(p["documents"] for p in parts), sum(reasons.values())
        return {"command": "data tokenize", "shard": config.shard, "files": len(jobs), "files_done": len(parts),
                "complete": error is None, **({"error": error} if error else {}),
                **counted(documents + quarantined, written=documents, quarantined=quarantined),
                "quarantine_reasons": dict(reasons), "skipped_files": skipped,
                **stale}

    def done(meta: dict[str, Any]) -> None:
        parts.append(meta)
        reasons.update(meta["quarantined"])
        progress.advance(meta["documents"] if meta.get("skipped") else 0,  # a kept part is not read again
                         postfix=f"{sum(p['tokens'] for p in parts):,} tokens")

    with reporting(report_path, summary), Progress("tokenizing", unit="docs") as progress, \
            scratch_folder(output) as scratch:
        earlier = [job for job in jobs if not config.force and exists(sibling(job.target, ".meta.json"))]
        kept = set()
        for job, found in zip(earlier, map_shards(_kept, earlier, workers=config.workers), strict=True):
            if found.meta is not None:
                kept.add(job.index)
                done(found.meta)
            elif found.damaged is not None:
                log.warning(f"{job.target} is tokenized again: {found.damaged}")
        parts_of = {job.index: split_file(job.file, config.part_bytes) for job in jobs if job.index not in kept}
        single_threaded = resolve_workers(config.workers, sum(len(p) for p in parts_of.values())) > 1
        tasks = [_Task(dataclasses.replace(job, single_threaded=single_threaded), part, scratch)
                 for job in jobs if job.index in parts_of for part in parts_of[job.index]]
        tokenized = map_shards(_tokenize, tasks, workers=config.workers, progress=progress.update)
        for task, results in per_file(tasks, tokenized, lambda task: task.part):
            done(_assemble(task.job, results, tokenizer))
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
              "skipped_parts": sum(bool(p.get("skipped")) for p in parts),
              "file_parts": sum(p.get("file_parts", 1) for p in parts)}
    write_text(report_path, json.dumps(report, indent=2) + "\n")
    log.info(f"tokenized {amount(report['documents'], 'document')} into {amount(tokens, 'token')} "
             f"({report['bytes_per_token']} "
             f"bytes per token, EOS excluded) in {amount(len(parts), 'part')} with {tokenizer.name}; "
             f"{counted_line(report)}"
             + (f"; {amount(report['skipped_parts'], 'part')} already complete" if report["skipped_parts"] else "")
             + f"; unigram entropy {report['unigram_entropy_nats']} nats")
    for source, count in report["tokens_per_source"].items():
        log.info(f"  {source}: {amount(count, 'token')}")
    log.info(f"token arrays: {output}")
    return report


class TokenizeJob(Job):
    """Tokenize documents into the token arrays a trainer reads, with the tokenizer that made them."""

    command = "data tokenize"
    inputs: ClassVar[dict[str, Slot]] = {"input": Slot(Dataset, help=DOCUMENTS_HELP)}
    outputs: ClassVar[dict[str, Slot]] = {"tokens": Slot(TokenArrays, help="token-array parts")}

    def check(self, config: TokenizeConfig, inputs: dict[str, Any], workdir: str) -> None:
        """Refuse an output in the folder of the input's documents (its parts would be read as documents)."""
        check_output_apart(inputs["input"].path, workdir, self.command, new_dataset=False)

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
        lines = ["## Tokens", "", f"{amount(m['tokens'], 'token')} ({m['bytes_per_token']} bytes per token) from "
                 f"{amount(m['documents'], 'document')}, tokenizer {m['tokenizer']['name']}; unigram entropy "
                 f"{m['unigram_entropy_nats']} nats (the loss of a model that knows only token frequencies).", ""]
        if not plots.available():
            return Report(markdown="\n".join([*lines, plots.missing_note("tokens per source")]))
        with local_directory(result.workdir) as folder:  # a scratch folder, uploaded, when the workdir is remote
            plots.bar_plot(Path(folder) / "tokens.png", m["tokens_per_source"], title="tokens per source",
                           ylabel="tokens")
        figure = posixpath.join(result.workdir, "tokens.png")
        return Report(markdown="\n".join([*lines, f"![tokens per source]({figure})"]), figures=[figure])
