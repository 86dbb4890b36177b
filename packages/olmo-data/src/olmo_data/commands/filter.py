"""The ``filter`` job (``olmo data filter``): keep, drop and mask documents by expressions over their attributes."""

from __future__ import annotations

import functools
import json
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, Any, ClassVar

from olmo_core.artifacts import Dataset
from olmo_core.config import non_negative, positive
from olmo_core.documents import Document, DocumentRange, Quarantined, require_documents
from olmo_core.errors import ConfigError
from olmo_core.io import exists, glob, open_atomic, remove, write_text
from olmo_core.jobs import JobResult, Report, Slot
from olmo_core.progress import Progress

from olmo_data.expressions import Expression
from olmo_data.layout import (Layout, NewDatasetJob, aligned_row, amount, attribute_rows, counted, counted_line,
                              find_layout, no_rows_left, remove_stale, report_name, reporting, select_shard,
                              shared_output, stale_removed)
from olmo_data.parallel import (PART_BYTES, Part, join_part_files, joined_quarantine, map_shards, part_file,
                                parts_with_documents_before, per_file, remove_part_files, scratch_folder)
from olmo_data.parallel import counted as counted_records

__all__ = ["FilterConfig", "FilterJob", "filter_documents", "kept_per_source", "replace_spans"]

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class FilterConfig:
    """Options of the ``filter`` job (``olmo data filter``)."""

    attributes: list[str] = field(default_factory=list)
    """Attribute directories to read (names under ``attributes/``); default: those that hold the keys the
    expressions name."""
    attributes_from: str | None = None
    """The folder whose ``attributes/`` to read instead of the input dataset's: for example one job of a tag
    sweep (``<input>/reports/tag/<swept values>``, quoted: ``"attributes_from='...'"``, as its name holds
    ``=``), its attributes aligned with the same documents."""
    exclude: Any = field(default_factory=list)
    """Drop a document when any of these expressions is true; the expression is the reason reported (a list of
    expressions, or one)."""
    include: Any = field(default_factory=list)
    """Drop a document unless all of these expressions are true (a list of expressions, or one)."""
    replace: Any = field(default_factory=list)
    """Span replacements, ``"<attribute key> => <text>"``: every span of the key scoring at least
    ``min_score`` is replaced by the text (``=> `` with nothing after it removes the span); a list, or one."""
    min_score: float = 0.5
    """Spans scoring below this are not replaced."""
    keep_dropped: bool = True
    """Write dropped documents, with their reason, under ``dropped/`` so that they can be inspected."""
    workers: int = non_negative(1)
    """Processes filtering files, and parts of large files, in parallel (0: one per CPU core); the output does not
    depend on it."""
    part_bytes: int = positive(PART_BYTES)
    """Files with more content than this (32 MiB) are filtered in parts of this size, in parallel, after a first
    pass that counts each part's documents (to find its rows in the attribute files); the output does not depend
    on it."""
    shard: str | None = None
    """Handle only shard ``i/N`` of the input files (every N-th from the i-th), for sweeps across machines."""

    def __post_init__(self) -> None:
        for key in ("exclude", "include", "replace"):
            setattr(self, key, _expression_list(key, getattr(self, key)))


def _expression_list(key: str, value: Any) -> list[str]:
    """``value`` as a list of expressions: one string is a list of one; anything but strings is refused."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{key}={value!r} must be a list of expressions (strings), for example "
                      f"{key}=\"['length < 100']\"")


def _keys_of(layout: Layout, name: str) -> set[str]:
    """The attribute keys of ``attributes/<name>/``: those of the first tagged row of each of its files."""
    keys: set[str] = set()
    for file in layout.files:
        if not exists(layout.attributes(name, file)):  # another shard's, not written yet
            continue
        for row in attribute_rows(layout.attributes(name, file)):
            if "not_tagged" not in row:
                keys.update(row["attributes"])
                break
    return keys


def _replacement_key(text: str) -> str:
    key, sep, _ = text.partition("=>")
    if not sep:
        raise ConfigError(f"replace entry {text!r} must look like '<attribute key> => <replacement>'")
    return key.strip()


def _parse_replacements(texts: list[str], known: set[str]) -> list[tuple[str, str]]:
    out = []
    for text in texts:
        key = _replacement_key(text)
        Expression.parse(f"attr({key!r})", known)
        out.append((key, text.partition("=>")[2].strip()))
    return out


def _needed_keys(config: FilterConfig) -> set[str]:
    """The attribute keys that the expressions and replacements name."""
    keys: set[str] = set()
    for text in [*config.exclude, *config.include]:
        keys |= Expression.parse(text, None).keys
    return keys | {_replacement_key(text) for text in config.replace}


def _choose_attributes(config: FilterConfig, layout: Layout) -> tuple[list[str], set[str]]:
    """The attribute folders to read and the keys they hold: ``config.attributes``, or else only the folders
    that hold a key the expressions name (a key ``<experiment>__<tagger>__<name>`` is looked for first in
    ``attributes/<tagger>/``, then in every folder)."""
    available = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in glob(f"{layout.root}/attributes/*"))
    for name in config.attributes:
        if name not in available:
            raise ConfigError(f"no attributes '{name}' under {layout.root}/attributes (available: "
                              f"{', '.join(available) or 'none: run olmo data tag first'})")
    if config.attributes:
        keys = {name: _keys_of(layout, name) for name in config.attributes}
        return list(config.attributes), set().union(*keys.values())
    needed = _needed_keys(config)
    keys = {}
    for key in needed:
        parts = key.split("__")
        if len(parts) >= 3 and parts[1] in available and parts[1] not in keys:
            keys[parts[1]] = _keys_of(layout, parts[1])
    if not needed <= set().union(*keys.values()):
        keys.update({name: _keys_of(layout, name) for name in available if name not in keys})
    names = [name for name in available if name in keys and keys[name] & needed]
    return names, set().union(*keys.values())


def _check_attribute_files(layout: Layout, names: list[str], files: list[str]) -> None:
    """Refuse, before anything is written, when a needed attribute file is missing."""
    for name in names:
        missing = [file for file in files if not exists(layout.attributes(name, file))]
        if missing:
            first = ", ".join(layout.relative(f) for f in missing[:3]) + (", ..." if len(missing) > 3 else "")
            raise ConfigError(f"{layout.root}/attributes/{name} has no attribute file for {len(missing)} of "
                              f"{len(files)} document files ({first}): tag them first (olmo data tag "
                              f"input={layout.root} taggers=[{name}]) or leave '{name}' out of the expressions")


def replace_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, replacement)`` applied; overlapping spans merge into the first."""
    pieces, cursor = [], 0
    for start, end, replacement in sorted(spans):
        if start < cursor:
            continue
        pieces += [text[cursor:start], replacement]
        cursor = end
    return "".join(pieces) + text[cursor:]


@dataclass
class FileResult:
    """What filtering one file did."""

    counts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    quarantined: Counter[str] = field(default_factory=Counter)
    replaced: Counter[str] = field(default_factory=Counter)
    per_source: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, other: FileResult) -> None:
        self.counts.update(other.counts)
        self.reasons.update(other.reasons)
        self.quarantined.update(other.quarantined)
        self.replaced.update(other.replaced)
        for source, counts in other.per_source.items():
            self.per_source.setdefault(source, Counter()).update(counts)


@dataclass(frozen=True)
class _Plan:
    layout: Layout
    out: Layout
    names: tuple[str, ...]
    known: frozenset[str]
    config: FilterConfig


@dataclass
class PartResult(FileResult):
    """What filtering one part of a split file did, and what :func:`_assemble` puts together."""

    lines: int = 0
    """The part's lines (blank ones included), by which the quarantined records of the parts after it are
    renumbered."""
    held: list[Quarantined] = field(default_factory=list)
    """The part's quarantined records, numbered from its first line."""
    outputs: dict[str, str] = field(default_factory=dict)
    """The part's temporary files of kept (``documents``) and dropped rows."""


@dataclass(frozen=True)
class _Task:
    """Filter ``part``, whose first document is row ``rows_before`` of its attribute files; a part of a split file
    writes its rows to temporary files in ``scratch``."""

    part: Part
    rows_before: int = 0
    scratch: str = ""


def _filter_part(task: _Task, plan: _Plan) -> FileResult:
    """Filter one part of a file: a whole file's outputs and quarantine are written here; a split file's part
    writes its rows to temporary files (:func:`~olmo_data.parallel.part_file`) and holds its quarantined records,
    which :func:`_assemble` puts together."""
    part = task.part
    result = FileResult() if part.whole else PartResult()
    quarantined: list[Quarantined] = []
    records = part.records()
    try:
        with ExitStack() as stack:
            missing = [n for n in plan.names if not exists(plan.layout.attributes(n, part.file))]
            if missing:
                raise ConfigError(f"{part.file} has no attribute file for {', '.join(missing)}: tag it first")
            rows = {n: attribute_rows(plan.layout.attributes(n, part.file), skip=task.rows_before) for n in plan.names}
            kept, dropped = _outputs(stack, task, result, plan)
            _filter_records(counted_records(records), part.file, rows, plan, result, quarantined, kept, dropped)
            if part.last:  # rows left at the end: documents the attributes were made for are gone
                for name, left in rows.items():
                    no_rows_left(left, name, part.file)
    except BaseException:
        if isinstance(result, PartResult):
            remove_part_files(result.outputs.values())
        raise
    if isinstance(result, PartResult):
        result.held, result.lines = quarantined, records.lines if isinstance(records, DocumentRange) else 0
        return result
    result.quarantined = plan.out.keep_quarantined(part.file, quarantined, replace=True)
    return result


def _outputs(stack: ExitStack, task: _Task, result: FileResult, plan: _Plan) -> tuple[IO[str], IO[str] | None]:
    """Where ``task`` writes its kept and (with ``keep_dropped``) dropped documents: a whole file's output files,
    or a part's temporary files."""
    names = ("documents", "dropped") if plan.config.keep_dropped else ("documents",)
    if isinstance(result, PartResult):
        result.outputs = {name: part_file(task.scratch) for name in names}
        opened = [stack.enter_context(open(result.outputs[name], "w", encoding="utf-8", newline=""))
                  for name in names]
    else:
        relative = plan.layout.jsonl(task.part.file)
        opened = [stack.enter_context(open_atomic(f"{plan.out.root}/{name}/{relative}", "wt", compression="infer",
                                                  encoding="utf-8")) for name in names]
    return opened[0], opened[1] if len(opened) > 1 else None


def _filter_records(records: Iterator[Document | Quarantined], file: str, rows: dict[str, Iterator[dict[str, Any]]],
                    plan: _Plan, result: FileResult, quarantined: list[Quarantined], kept_out: IO[str],
                    dropped_out: IO[str] | None) -> None:
    """Keep, drop or quarantine each of ``records`` (of ``file``), counting into ``result``."""
    config = plan.config
    exclude = [Expression.parse(e, plan.known) for e in config.exclude]
    include = [Expression.parse(e, plan.known) for e in config.include]
    replacements = _parse_replacements(config.replace, set(plan.known))
    for item in records:
        result.counts["read"] += 1
        if isinstance(item, Document):
            attributes, refused = _join(item, rows, file)
            if refused:  # a tagger refused it (too long): its rules were never checked
                item = Quarantined(file=file, line=item.line, reason=refused,
                                   raw=json.dumps(item.to_json(), ensure_ascii=False).encode("utf-8"))
        if isinstance(item, Quarantined):
            quarantined.append(item)
            result.counts["quarantined"] += 1
            continue
        source = result.per_source.setdefault(item.source or "(none)", Counter())
        source["read"] += 1
        reason = _reason(item, attributes, exclude, include)
        if reason is not None:
            result.counts["dropped"] += 1
            result.reasons[reason] += 1
            source["dropped"] += 1
            if dropped_out is not None:
                dropped_out.write(json.dumps({**item.to_json(), "dropped_by": reason}, ensure_ascii=False) + "\n")
        else:
            result.counts["kept"] += 1
            source["kept"] += 1
            _mask(item, attributes, replacements, config.min_score, result.replaced)
            kept_out.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")


def _assemble(file: str, results: list[FileResult], plan: _Plan) -> FileResult:
    """The result of a file filtered in parts: its kept and dropped files written from the parts' rows in order
    (the same writes, hence the same bytes, as one process makes) and its quarantine from theirs, renumbered."""
    if len(results) == 1:
        return results[0]
    parts = [r for r in results if isinstance(r, PartResult)]
    total = FileResult()
    relative = plan.layout.jsonl(file)
    try:
        for name in ("documents", "dropped") if plan.config.keep_dropped else ("documents",):
            join_part_files(f"{plan.out.root}/{name}/{relative}", [part.outputs[name] for part in parts])
        for part in parts:
            total.add(part)
        total.quarantined = plan.out.keep_quarantined(file, joined_quarantine((p.held, p.lines) for p in parts),
                                                      replace=True)
    finally:
        for part in parts:
            remove_part_files(part.outputs.values())
    return total


def _checked_rules(config: FilterConfig, input: str) -> tuple[Layout, Layout, list[str], set[str]]:
    """The input's documents, where its attributes are, the attribute folders the rules read and the keys they
    hold, once every expression and replacement of ``config`` is known to parse over those keys (else a
    :class:`ConfigError` naming the unknown key, with the closest ones)."""
    documents = find_layout(input, None)
    layout = Layout(documents.files, config.attributes_from.rstrip("/"), documents.documents_root,
                    documents.skipped) if config.attributes_from else documents  # where the attributes are
    names, known = _choose_attributes(config, layout)
    for text in [*config.exclude, *config.include]:
        Expression.parse(text, known)
    _parse_replacements(config.replace, known)
    return documents, layout, names, known


def filter_documents(config: FilterConfig, input: str, output: str, *, step: str = "filtered",
                     where_line: bool = True) -> dict[str, Any]:
    """Filter the tagged dataset ``input`` into the dataset ``output`` (``documents/`` kept, ``dropped/``,
    ``quarantine/``, ``reports/``): drop documents by expressions over attributes, mask spans, count everything.

    Only the attribute folders that hold the keys the expressions name are read (or ``config.attributes``),
    and every attribute file they need is checked to exist before anything is written. Every document read
    ends up kept, dropped (with the expression that dropped it) or quarantined (with file, line and reason;
    a document that a tagger read refused as too long is quarantined, ``not tagged by <tagger>: ...``), and
    the report checks that the three add up to the documents read. A run that fails part-way, or finds
    every record quarantined, still writes its report, with ``complete: false``, the error and the files
    done, and raises. Files are filtered in parallel with ``workers``; the output does not depend on it.
    ``step`` opens the summary line (``deduplicated: 21 records in: ...`` for a command that filters through
    this one); without ``where_line``, the last line (where the documents and the report are) is left to the
    caller, which names its own report.
    """
    documents, layout, names, known = _checked_rules(config, input)
    plan = _Plan(layout.for_workers(), Layout([], output.rstrip("/"), layout.documents_root), tuple(names),
                 frozenset(known), config)
    files = [file for _, file in select_shard(layout.files, config.shard)]
    _check_attribute_files(layout, names, files)
    stale = stale_removed(remove_stale(plan.out, layout.files), plan.out.root)  # for input files gone since
    total = FileResult()
    done: list[str] = []
    report_path = plan.out.report(report_name("filter", config.shard))

    def summary(error: str | None) -> dict[str, Any]:
        counts = total.counts
        return {"command": "data filter", "shard": config.shard, "input": documents.root, "output": plan.out.root,
                "attributes": names, "files": len(files), "files_done": len(done), "complete": error is None,
                **({"error": error, "documents_written_for": [layout.jsonl(f) for f in done]} if error else {}),
                "records": counts["read"], "kept": counts["kept"], "written": counts["kept"],
                "dropped": counts["dropped"], "quarantined": counts["quarantined"],
                "dropped_by": dict(total.reasons.most_common()),
                "spans_replaced": dict(total.replaced),
                "per_source": {s: dict(c) for s, c in sorted(total.per_source.items())},
                "skipped_files": layout.skipped, **stale}

    with reporting(report_path, summary), scratch_folder(plan.out.root) as scratch:
        tasks = [_Task(part, before, scratch) for part, before in
                 parts_with_documents_before(files, workers=config.workers, part_bytes=config.part_bytes)]
        with Progress("filtering", unit="docs") as progress:
            work = functools.partial(_filter_part, plan=plan)
            for task, results in per_file(tasks, map_shards(work, tasks, workers=config.workers,
                                                            progress=progress.update), lambda task: task.part):
                total.add(_assemble(task.part.file, results, plan))
                if not config.keep_dropped:  # what an earlier run into this output kept for the file
                    remove(f"{plan.out.root}/dropped/{layout.jsonl(task.part.file)}")
                done.append(task.part.file)
                progress.advance(0, postfix=f"{len(done)}/{len(files)} files")
        counts = total.counts
        counted(counts["read"], written=counts["kept"], dropped=counts["dropped"], quarantined=counts["quarantined"],
                check=True)
        require_documents(counts["read"], counts["read"] - counts["quarantined"], input=input,
                          step="olmo data filter", reasons=total.quarantined, report=report_path)
    report = summary(None)
    write_text(report_path, json.dumps(report, indent=2) + "\n")
    _print_report(report, report_path, step, where_line)
    return report


def kept_per_source(report: dict[str, Any]) -> dict[str, int]:
    """Documents kept per source, from a filter report's ``per_source``."""
    return {source: counts.get("kept", 0) for source, counts in report["per_source"].items()}


class FilterJob(NewDatasetJob):
    """Drop documents by rules over their attributes and mask spans, into a new dataset.

    Expressions use Python syntax restricted to comparisons, ``and``/``or``/``not``, arithmetic and literals,
    over attribute keys (``<experiment>__<tagger>__<name>``, as under ``attributes/``). A bare key stands for
    its first span's value (0 when the document has none); ``count(key)``, ``total(key)``, ``highest(key)`` and
    ``covered(key)`` (the share of characters its spans cover) look at all its spans; ``attr("a-b")`` names a
    key that is not an identifier. An unknown key is refused with the closest ones suggested. Quote the whole
    override so that the shell keeps the inner quotes::

        olmo data filter input=ds output=clean "exclude=['language__language__en < 0.5','pii__pii__doc_count > 5']"
    """

    command = "data filter"
    inputs: ClassVar[dict[str, Slot]] = {"input": Slot(Dataset, help="a tagged dataset directory (documents/ "
                                                                       "and attributes/)")}
    outputs: ClassVar[dict[str, Slot]] = {"dataset": Slot(Dataset, help="the kept documents (dropped ones under "
                                                                        "dropped/, with their reason)")}

    def check(self, config: FilterConfig, inputs: dict[str, Any], workdir: str) -> None:
        """Refuse an output that overlaps the input, and rules that do not parse, before anything is written."""
        super().check(config, inputs, workdir)
        _checked_rules(config, inputs["input"].path)

    def run(self, config: FilterConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        """Filter the input into ``workdir``; metrics: the filter report (kept, dropped, dropped_by, per_source
        ...) and ``documents_per_source`` kept."""
        output = shared_output(workdir)
        report = filter_documents(config, inputs["input"].path, output)
        return JobResult(outputs={"dataset": Dataset(path=output)},
                         metrics={**report, "documents_per_source": kept_per_source(report)})

    def report(self, result: JobResult) -> Report:
        """One line: documents kept, dropped and quarantined."""
        m = result.metrics
        return Report(markdown=f"## Filtering\n\n{m['kept']:,} of {amount(m['records'], 'record')} kept, "
                               f"{m['dropped']:,} dropped by the rules, {m['quarantined']:,} quarantined.")


def _join(document: Document, rows: dict[str, Iterator[dict[str, Any]]],
          file: str) -> tuple[dict[str, list[list[Any]]], str | None]:
    """The document's attributes, and why it has none from a tagger that refused it (``not_tagged``), if one did."""
    attributes: dict[str, list[list[Any]]] = {}
    refused = None
    for name, iterator in rows.items():
        row = aligned_row(iterator, document.id, name, file)
        attributes.update(row["attributes"])
        if refused is None and "not_tagged" in row:
            refused = f"not tagged by {name}: {row['not_tagged']}"
    return attributes, refused


def _reason(document: Document, attributes: dict[str, list[list[Any]]], exclude: list[Expression],
            include: list[Expression]) -> str | None:
    length = len(document.text)
    for expression in exclude:
        if expression.evaluate(attributes, length, document.source):
            return expression.text
    for expression in include:
        if not expression.evaluate(attributes, length, document.source):
            return f"not ({expression.text})"
    return None


def _mask(document: Document, attributes: dict[str, list[list[Any]]], replacements: list[tuple[str, str]],
          min_score: float, replaced: Counter[str]) -> None:
    spans = []
    for key, text in replacements:
        chosen = [s for s in attributes.get(key, []) if isinstance(s[2], (int, float)) and s[2] >= min_score]
        replaced[key] += len(chosen)
        spans += [(int(s[0]), int(s[1]), text) for s in chosen]
    if spans:
        document.text = replace_spans(document.text, spans)


def _print_report(report: dict[str, Any], path: str, step: str, where_line: bool) -> None:
    log.info(f"{step}: {counted_line(report)}")
    if report["records"] and not report["written"]:
        log.warning(f"every document was dropped or quarantined ({report['records']:,} of {report['records']:,}): "
                    f"check the expressions and the attribute values they compare (olmo data stats, attributes/)")
    for reason, n in report["dropped_by"].items():
        log.info(f"  dropped {n:>7}  {reason}")
    for key, n in report["spans_replaced"].items():
        log.info(f"  masked  {n:>7}  {key}")
    if report["per_source"]:
        log.info("per source (read / kept / dropped):")
        for source, c in report["per_source"].items():
            log.info(f"  {source}: {c.get('read', 0)} / {c.get('kept', 0)} / {c.get('dropped', 0)}")
    if where_line:
        log.info(f"documents: {report['output']}/documents  report: {path}")
