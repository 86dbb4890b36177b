"""Where documents, attributes and reports live in a Dolma-style dataset directory.

A dataset keeps ``documents/<sub>/<file>.jsonl.gz`` and, for each tagger, attribute files with the same
sub-path and name under ``attributes/<tagger>/``, aligned row by row with the valid documents.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import posixpath
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import fsspec
from fsspec.core import url_to_fs

from olmo_core.documents import DOCUMENT_SUFFIXES, PARQUET_SUFFIXES, Quarantined, document_files
from olmo_core.errors import ConfigError, OlmoError
from olmo_core.fast_json import parse_json_line
from olmo_core.io import exists, is_local, remove, write_text
from olmo_core.jobs import Job

__all__ = ["DOCUMENTS_HELP", "Layout", "NewDatasetJob", "aligned_row", "amount", "attribute_rows", "check_output_apart",
           "counted", "counted_line", "find_layout", "in_place_workdir", "layout_beside", "no_rows_left", "read_line",
           "remove_stale", "report_name", "reporting", "select_shard", "shared_output", "stale_removed"]

log = logging.getLogger(__name__)

DOCUMENTS_HELP = "a dataset directory (with documents/), a directory or glob of JSON-lines files, or one file"
"""What a job's documents input may name (its ``--help``)."""


class Layout:
    """The document files of one run and where their derived files go."""

    def __init__(self, files: list[str], root: str, documents_root: str | None,
                 skipped: dict[str, str] | None = None) -> None:
        self.files, self.root, self.documents_root = files, root, documents_root
        self.skipped = skipped or {}
        """Entries that looked like document files but were not read, with the reason (directories, links out of
        the dataset, sockets ...)."""

    def for_workers(self) -> Layout:
        """This layout without its list of files and skipped entries, for the tasks sent to workers: what a worker
        does with one file needs only the dataset's folders, and each task is pickled with its layout, so that a
        list of N files would make a job pickle N x N paths (100,000 files: 4.8 MB and 14 ms per task)."""
        return Layout([], self.root, self.documents_root)

    def relative(self, file: str) -> str:
        """The file's path below ``documents/`` (or its base name when it is not under one)."""
        if self.documents_root and file.startswith(self.documents_root + "/"):
            return file[len(self.documents_root) + 1:]
        return posixpath.basename(file)

    def jsonl(self, file: str) -> str:
        """The relative name of the JSON-lines file derived from ``file`` (a Parquet file's becomes
        ``<stem>.jsonl.gz``; others keep their name)."""
        relative = self.relative(file)
        for suffix in PARQUET_SUFFIXES:
            if relative.endswith(suffix):
                return relative[: -len(suffix)] + ".jsonl.gz"
        return relative

    def attributes(self, name: str, file: str) -> str:
        """The attribute file of ``name`` for the document file ``file``."""
        return f"{self.root}/attributes/{name}/{self.jsonl(file)}"

    def quarantine(self, file: str) -> str:
        """Where the quarantined lines of ``file`` are kept."""
        relative = self.relative(file)
        for suffix in DOCUMENT_SUFFIXES:
            if relative.endswith(suffix):
                relative = relative[: -len(suffix)]
                break
        return f"{self.root}/quarantine/{relative}.jsonl"

    def keep_quarantined(self, file: str, quarantined: list[Quarantined], *, replace: bool = False) -> Counter[str]:
        """Write the quarantined lines of ``file``, if any, to its :meth:`quarantine` file; return how many
        there are of each reason (its words before any detail in parentheses). With ``replace`` (a step writing a
        new dataset, which owns its quarantine) a quarantine file that an earlier run left is removed when there
        is none now; a step adding to a dataset in place shares the file with the steps before it."""
        if quarantined:
            write_text(self.quarantine(file), "".join(json.dumps(q.to_json()) + "\n" for q in quarantined))
        elif replace:
            remove(self.quarantine(file))
        return Counter(q.kind for q in quarantined)

    def report(self, name: str) -> str:
        """The JSON report of a step."""
        return f"{self.root}/reports/{name}.json"


def attribute_rows(url: str, skip: int = 0) -> Iterator[dict[str, Any]]:
    """The rows of an attribute file, in order (blank lines skipped), after the first ``skip`` (passed over
    unparsed)."""
    with fsspec.open(url, "rt", compression="infer", encoding="utf-8") as f:
        while skip:
            line = f.readline()
            if not line:
                return
            skip -= bool(line.strip())
        for line in f:
            if line.strip():
                yield parse_json_line(line)


def aligned_row(rows: Iterator[dict[str, Any]], document_id: str, name: str, file: str) -> dict[str, Any]:
    """The next row of ``attributes/<name>`` of ``file``, refused unless it is the document ``document_id``'s."""
    row = next(rows, None)
    if row is None or str(row.get("id")) != document_id:
        found = "the end of the file" if row is None else f"id {row.get('id')!r}"
        raise ConfigError(f"attributes/{name} of {file} are not aligned with its documents: document "
                          f"{document_id!r} meets {found}; tag the documents again")
    return row


def no_rows_left(rows: Iterator[dict[str, Any]], name: str, file: str) -> None:
    """Refuse the attribute rows of ``attributes/<name>`` of ``file`` that are left once every document has had its
    row (the file holds rows of documents that are no longer there: another fetch into the dataset)."""
    extra = next(rows, None)
    if extra is not None:
        raise ConfigError(f"attributes/{name} of {file} have more rows than it has documents (the first extra one "
                          f"is {extra.get('id')!r}); tag the documents again")


STALE_FOLDERS = ("documents", "dropped", "quarantine", "attributes")
"""The folders of a dataset a step writes (:func:`remove_stale`): documents, dropped documents, quarantined lines,
and the attributes a later step added beside its documents."""


def remove_stale(out: Layout, files: Iterable[str], folders: Iterable[str] = STALE_FOLDERS) -> int:
    """Remove, from the ``folders`` of the dataset ``out.root`` that a step writes, the files an earlier run of it
    wrote for document files the input no longer has (every file of the input counts, a shard's or not): their
    documents, dropped documents, quarantine and attributes, so that the output holds exactly what this run
    writes. Only files of those kinds (document files, ``.jsonl`` quarantine files) under those folders are
    removed, and local folders left empty by it; return how many files were removed."""
    files = list(files)
    written = {out.jsonl(f) for f in files}
    quarantined = {out.quarantine(f)[len(out.root) + len("/quarantine/"):] for f in files}
    fs, root = url_to_fs(out.root)
    removed = 0
    for folder in folders:
        base = f"{root.rstrip('/')}/{folder}"
        if not fs.isdir(base):
            continue
        for path in sorted(fs.find(base)):
            relative = path[len(base) + 1:]
            if folder == "attributes":  # below attributes/<tagger>/
                relative = relative.partition("/")[2]
            stale = relative not in quarantined if folder == "quarantine" else relative not in written
            if relative and stale and path.endswith(".jsonl" if folder == "quarantine" else DOCUMENT_SUFFIXES):
                fs.rm(path)
                removed += 1
                _remove_empty_folders(fs, posixpath.dirname(path), base)
    return removed


def stale_removed(removed: int, output: str) -> dict[str, int]:
    """Log how many stale files a step removed from ``output`` (:func:`remove_stale`, token parts alike), and return
    its report's entry for them (``stale_files_removed``; empty when none was)."""
    if not removed:
        return {}
    log.info(f"removed {amount(removed, 'stale file')} that an earlier run left in {output} (for input files that are "
             f"no longer there)")
    return {"stale_files_removed": removed}


def _remove_empty_folders(fs: Any, folder: str, base: str) -> None:
    """Remove ``folder`` and the folders above it, up to ``base`` (kept), while they are empty (local ones: object
    storage has no folders)."""
    if not is_local(fs):
        return
    while folder.startswith(base + "/") and fs.isdir(folder) and not fs.ls(folder):
        fs.rmdir(folder)
        folder = posixpath.dirname(folder)


def find_layout(input: str, output: str | None) -> Layout:
    """Resolve ``input`` (a dataset directory, a directory of files, a file or a glob) into a :class:`Layout`.

    Derived files go under ``output``, or under the dataset directory when the input is one.
    """
    skipped: dict[str, str] = {}
    files = document_files(input, skipped=skipped)
    marker = "/documents/"
    documents_root = files[0][: files[0].rindex(marker) + len(marker) - 1] if marker in files[0] else None
    if documents_root is None and not any(ch in input for ch in "*?[") and not input.endswith(DOCUMENT_SUFFIXES):
        documents_root = input.rstrip("/")
    root = output.rstrip("/") if output else None
    if root is None:
        if documents_root is None or not documents_root.endswith("/documents"):
            raise ConfigError(f"input='{input}' is not inside a dataset's documents/ directory: set output=<dir>")
        root = documents_root[: -len("/documents")]
    return Layout(files, root, documents_root, skipped)


def check_output_apart(input: str, output: str, step: str, *, new_dataset: bool = True) -> None:
    """Refuse an ``output`` that is the ``input`` dataset or lies in the folder of its documents: ``step`` (``data
    filter``) writes a new dataset there (``documents/``, ``dropped/``, ``quarantine/``, ``reports/``) and would
    overwrite the documents it reads, or become part of them. A dataset's own subfolder other than
    ``documents/`` (``<input>/filtered``) is apart from its documents. Without ``new_dataset`` (a step that writes
    other files: token parts, statistics) only an output in the folder of the documents is refused, as the next
    job would read its files as documents."""
    read = _comparable(input)
    if any(ch in read for ch in "*?[") or read.endswith(DOCUMENT_SUFFIXES):  # a glob or a file: its folder
        read = posixpath.dirname(re.split(r"[*?[]", read, maxsplit=1)[0])
    if "/documents/" in read + "/":
        root = read[:(read + "/").index("/documents/")]
        documents = f"{root}/documents"
    else:
        root = read
        documents = f"{read}/documents" if exists(f"{read}/documents") else read  # loose files: their folder
    out = _comparable(output)
    if not new_dataset and (out == documents or out.startswith(documents + "/")) and documents != root:
        raise ConfigError(f"output='{output}' lies in the input's documents {documents}: {step} would write its files "
                          f"there, and the next job reading the dataset would take them for documents; choose an "
                          f"output folder apart from them (for example {root}-{step.split()[-1]})")
    if new_dataset and (out == root or out == documents or out.startswith(documents + "/")):
        where = f"is the input dataset {root}" if out == root else f"lies in the input's documents {documents}"
        raise ConfigError(f"output='{output}' {where}: {step} writes a new dataset and would overwrite the documents "
                          f"it reads; choose an output folder apart from them (for example {root}-{step.split()[-1]})")


class NewDatasetJob(Job):
    """A job that writes a new dataset from its ``input`` dataset (filter, mix, decontaminate): its work
    directory must lie apart from the input (:func:`check_output_apart`)."""

    def check(self, config: Any, inputs: Mapping[str, Any], workdir: str) -> None:
        """Refuse a work directory that overlaps the input dataset."""
        check_output_apart(inputs["input"].path, workdir, self.command)


def _comparable(path: str) -> str:
    """``path`` without a trailing ``/``, made absolute (links resolved) when it is local."""
    if "://" in path and not path.startswith("file://"):
        return path.rstrip("/")
    return os.path.realpath(path.removeprefix("file://"))


def shared_output(workdir: str) -> str:
    """Where a job writes its data (documents, attributes, token parts ...): its work directory, except in a
    Hydra sweep over ``shard`` (where each job works in ``<output>/<overrides>``): the sweep's ``output``
    when the sweep varies nothing but ``shard``, so that the shards of one step (``-m shard=0/4,1/4,...``)
    write one dataset or one set of parts, and ``<output>/<the other swept values>`` when it varies other keys
    too. A sweep that leaves ``shard`` alone gives each job its own data, in its work directory
    (:func:`olmo_core.sweeps.data_output`)."""
    from olmo_core.sweeps import data_output

    return data_output(workdir)


def in_place_workdir(input: str, step: str) -> str:
    """Where a step that adds to the dataset ``input`` keeps its ``result.json`` and ``report.md`` when the
    user names no ``output=``: ``<dataset>/reports/<step>/`` (inside the dataset, so that a failed run's
    marker never makes the dataset itself look incomplete). Loose files have no such place: a clear error."""
    return f"{find_layout(input, None).root}/reports/{step}"


def layout_beside(input: str, workdir: str) -> Layout:
    """The layout of a step that adds to its input (attributes, duplicate marks): derived files go beside the
    documents when ``input`` is a dataset directory, else under the job's :func:`shared_output`. In a Hydra sweep
    that varies more than ``shard`` (``-m dedupers.bloom.min_chars=20,80``), each job's derived files go under its
    :func:`shared_output` even for a dataset, so that no job overwrites another's attributes."""
    from olmo_core.sweeps import job_at

    job = job_at(workdir)
    if job is not None and not job.shards_only:
        return find_layout(input, shared_output(workdir))
    try:
        return find_layout(input, None)
    except ConfigError:
        return find_layout(input, shared_output(workdir))


def select_shard(files: list[str], shard: str | None) -> list[tuple[int, str]]:
    """``(index, file)`` of the files that shard ``"i/N"`` handles: every N-th file from the i-th, indices kept
    global, so that N jobs (a Hydra sweep, a Slurm array) together write exactly what one run writes."""
    pairs = list(enumerate(files))
    if shard is None:
        return pairs
    index, sep, count = shard.partition("/")
    if not sep or not index.isdigit() or not count.isdigit() or not 0 <= int(index) < int(count):
        raise ConfigError(f"shard={shard!r} must look like i/N with 0 <= i < N (for example shard=0/4)")
    return pairs[int(index)::int(count)]


def report_name(step: str, shard: str | None) -> str:
    """``step``, or ``step-shard-i-of-N`` when a shard writes it, so that parallel jobs keep their reports."""
    if shard is None:
        return step
    index, _, count = shard.partition("/")
    return f"{step}-shard-{index}-of-{count}"


def counted(records: int, *, written: int, quarantined: int, dropped: int = 0, check: bool = False) -> dict[str, int]:
    """The counts a step's report and summary line give: every record read is written, dropped or
    quarantined. With ``check`` (for counts kept apart, on success only), a step that lost records fails."""
    if check and records != written + dropped + quarantined:
        raise OlmoError(f"records lost: {records} read != {written} written + {dropped} dropped + "
                        f"{quarantined} quarantined")
    return {"records": records, "written": written, "dropped": dropped, "quarantined": quarantined}


def amount(count: int, noun: str) -> str:
    """``count`` and ``noun``, plural unless one: ``1 file``, ``1,233 documents``."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def counted_line(counts: dict[str, int]) -> str:
    """``"N records in: W written, D dropped, Q quarantined"`` from :func:`counted`'s counts."""
    return (f"{amount(counts['records'], 'record')} in: {counts['written']:,} written, {counts['dropped']:,} dropped, "
            f"{counts['quarantined']:,} quarantined")


def read_line(files: int, documents: int, quarantined: int, how: str = "") -> str:
    """The last line of a job that only reads documents (``olmo data stats``, ``count``): ``read R records from F
    files<how>: D documents, Q quarantined``, saying that quarantined lines are counted, not kept."""
    line = (f"read {amount(documents + quarantined, 'record')} from {amount(files, 'file')}{how}: "
            f"{amount(documents, 'document')}, {quarantined:,} quarantined")
    return line + (" (counted, not kept: olmo data filter or tokenize keeps them)" if quarantined else "")


@contextlib.contextmanager
def reporting(paths: str | list[str], summary: Callable[[str | None], dict[str, Any]]) -> Iterator[None]:
    """Run a step's block so that it never fails without a report: when the block raises, ``summary(error)``
    (which marks the report ``complete: false`` and says what was done) is written to ``paths`` and the error
    goes on."""
    try:
        yield
    except Exception as exc:
        message = str(exc) if isinstance(exc, OlmoError) else f"{type(exc).__name__}: {exc}"
        for path in [paths] if isinstance(paths, str) else paths:
            write_text(path, json.dumps(summary(message), indent=2) + "\n")
        raise
