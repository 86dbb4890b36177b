"""``olmo data filter``: keep, drop and mask documents by expressions over their attributes."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import fsspec

from olmo_core.config import REQUIRED
from olmo_core.documents import Document, Quarantined, read_documents
from olmo_core.errors import ConfigError
from olmo_core.io import exists, glob, open_atomic, write_text
from olmo_core.progress import Progress

from olmo_data.expressions import Expression
from olmo_data.layout import Layout, find_layout

__all__ = ["FilterConfig", "filter_command", "replace_spans"]


@dataclass(kw_only=True)
class FilterConfig:
    """Options of ``olmo data filter``."""

    input: str = REQUIRED
    """A tagged dataset directory (``documents/`` and ``attributes/``)."""
    output: str = REQUIRED
    """The dataset directory to write: ``documents/`` (kept), ``dropped/``, ``quarantine/``, ``reports/``."""
    attributes: list[str] = field(default_factory=list)
    """Attribute directories to read (names under ``attributes/``); default: all of them."""
    exclude: list[str] = field(default_factory=list)
    """Drop a document when any of these expressions is true; the expression is the reason reported."""
    include: list[str] = field(default_factory=list)
    """Drop a document unless all of these expressions are true."""
    replace: list[str] = field(default_factory=list)
    """Span replacements, ``"<attribute key> => <text>"``: every span of the key scoring at least
    ``min_score`` is replaced by the text (``=> `` with nothing after it removes the span)."""
    min_score: float = 0.5
    """Spans scoring below this are not replaced."""
    keep_dropped: bool = True
    """Write dropped documents, with their reason, under ``dropped/`` so that they can be inspected."""


def _attribute_rows(url: str) -> Iterator[dict[str, Any]]:
    with fsspec.open(url, "rt", compression="infer", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def _known_keys(layout: Layout, names: list[str]) -> set[str]:
    keys: set[str] = set()
    for name in names:
        for file in layout.files:
            for row in _attribute_rows(layout.attributes(name, file)):
                keys.update(row["attributes"])
                break
    return keys


def _parse_replacements(texts: list[str], known: set[str]) -> list[tuple[str, str]]:
    out = []
    for text in texts:
        key, sep, replacement = text.partition("=>")
        if not sep:
            raise ConfigError(f"replace entry {text!r} must look like '<attribute key> => <replacement>'")
        key = key.strip()
        Expression.parse(f"attr({key!r})", known)
        out.append((key, replacement.strip()))
    return out


def replace_spans(text: str, spans: list[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, replacement)`` applied; overlapping spans merge into the first."""
    pieces, cursor = [], 0
    for start, end, replacement in sorted(spans):
        if start < cursor:
            continue
        pieces += [text[cursor:start], replacement]
        cursor = end
    return "".join(pieces) + text[cursor:]


def filter_command(config: FilterConfig) -> dict[str, Any]:
    """Filter a tagged dataset: drop documents by expressions over attributes, mask spans, count everything.

    Every document read ends up kept, dropped (with the expression that dropped it) or quarantined (with file,
    line and reason), and the report checks that the three add up to the documents read.
    """
    layout = find_layout(config.input, None)
    available = sorted(p.rstrip("/").rsplit("/", 1)[-1] for p in glob(f"{layout.root}/attributes/*"))
    names = config.attributes or available
    for name in names:
        if name not in available:
            raise ConfigError(f"no attributes '{name}' under {layout.root}/attributes (available: "
                              f"{', '.join(available) or 'none: run olmo data tag first'})")
    known = _known_keys(layout, names)
    exclude = [Expression.parse(e, known) for e in config.exclude]
    include = [Expression.parse(e, known) for e in config.include]
    replacements = _parse_replacements(config.replace, known)
    out = Layout(layout.files, config.output.rstrip("/"), layout.documents_root)
    counts: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    per_source: dict[str, Counter[str]] = {}
    replaced: Counter[str] = Counter()
    with Progress("filtering", unit="docs") as progress:
        for file in layout.files:
            quarantined: list[Quarantined] = []
            relative = layout.relative(file)
            with ExitStack() as stack:
                rows = {n: _attribute_rows(layout.attributes(n, file)) for n in names if exists(layout.attributes(n, file))}
                missing = [n for n in names if n not in rows]
                if missing:
                    raise ConfigError(f"{file} has no attribute file for {', '.join(missing)}: tag it first")
                kept_out = stack.enter_context(open_atomic(f"{out.root}/documents/{relative}", "wt",
                                                           compression="infer", encoding="utf-8"))
                dropped_out = stack.enter_context(open_atomic(f"{out.root}/dropped/{relative}", "wt",
                                                              compression="infer", encoding="utf-8")) \
                    if config.keep_dropped else None
                for item in read_documents(file):
                    counts["read"] += 1
                    if isinstance(item, Quarantined):
                        quarantined.append(item)
                        counts["quarantined"] += 1
                        continue
                    attributes = _join(item, rows, file)
                    source = per_source.setdefault(item.source or "(none)", Counter())
                    source["read"] += 1
                    reason = _reason(item, attributes, exclude, include)
                    if reason is not None:
                        counts["dropped"] += 1
                        reasons[reason] += 1
                        source["dropped"] += 1
                        if dropped_out is not None:
                            dropped_out.write(json.dumps({**item.to_json(), "dropped_by": reason},
                                                         ensure_ascii=False) + "\n")
                    else:
                        counts["kept"] += 1
                        source["kept"] += 1
                        _mask(item, attributes, replacements, config.min_score, replaced)
                        kept_out.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
                    progress.advance()
            if quarantined:
                write_text(out.quarantine(file), "".join(json.dumps(q.to_json()) + "\n" for q in quarantined))
    documents = counts["read"]
    assert documents == counts["kept"] + counts["dropped"] + counts["quarantined"]
    report = {"command": "data filter", "input": layout.root, "output": out.root, "records": documents,
              "kept": counts["kept"], "dropped": counts["dropped"], "quarantined": counts["quarantined"],
              "dropped_by": dict(reasons.most_common()), "spans_replaced": dict(replaced),
              "per_source": {s: dict(c) for s, c in sorted(per_source.items())}}
    write_text(out.report("filter"), json.dumps(report, indent=2) + "\n")
    _print_report(report)
    return report


def _join(document: Document, rows: dict[str, Iterator[dict[str, Any]]], file: str) -> dict[str, list[list[Any]]]:
    attributes: dict[str, list[list[Any]]] = {}
    for name, iterator in rows.items():
        row = next(iterator, None)
        if row is None or str(row.get("id")) != document.id:
            found = "the end of the file" if row is None else f"id {row.get('id')!r}"
            raise ConfigError(f"attributes/{name} of {file} are not aligned with its documents: document "
                              f"{document.id!r} meets {found}; tag the documents again")
        attributes.update(row["attributes"])
    return attributes


def _reason(document: Document, attributes: dict[str, list[list[Any]]], exclude: list[Expression],
            include: list[Expression]) -> str | None:
    length = len(document.text)
    for expression in exclude:
        if expression.evaluate(attributes, length):
            return expression.text
    for expression in include:
        if not expression.evaluate(attributes, length):
            return f"not ({expression.text})"
    return None


def _mask(document: Document, attributes: dict[str, list[list[Any]]], replacements: list[tuple[str, str]],
          min_score: float, replaced: Counter[str]) -> None:
    spans = [(int(s[0]), int(s[1]), text) for key, text in replacements for s in attributes.get(key, [])
             if isinstance(s[2], (int, float)) and s[2] >= min_score]
    if spans:
        document.text = replace_spans(document.text, spans)
        for key, _ in replacements:
            replaced[key] += sum(1 for s in attributes.get(key, []) if isinstance(s[2], (int, float)) and s[2] >= min_score)


def _print_report(report: dict[str, Any]) -> None:
    print(f"read {report['records']} records: kept {report['kept']}, dropped {report['dropped']}, "
          f"quarantined {report['quarantined']}")
    for reason, n in report["dropped_by"].items():
        print(f"  dropped {n:>7}  {reason}")
    for key, n in report["spans_replaced"].items():
        print(f"  masked  {n:>7}  {key}")
    if report["per_source"]:
        print("per source (read / kept / dropped):")
        for source, c in report["per_source"].items():
            print(f"  {source}: {c.get('read', 0)} / {c.get('kept', 0)} / {c.get('dropped', 0)}")
    print(f"documents: {report['output']}/documents  report: {report['output']}/reports/filter.json")
