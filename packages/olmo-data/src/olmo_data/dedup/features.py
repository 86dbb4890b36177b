"""Per-file deduplication features: computed in any process, kept in memory or saved between two jobs.

``olmo data dedup`` decides in corpus order over every file's features. In one job they go straight from the
workers to the decisions; across jobs, ``phase=features`` saves each file's features per deduper under
``<dataset>/dedup/features/<name>/<file>`` and ``phase=decide`` reads them back.

A features file is gzipped JSON lines: a header (the input file below ``documents/``, the deduper's config, the key
of both with the file's content, records and quarantine counts of the file, seconds spent, the sum of the deduper's
:meth:`~olmo_data.dedup.base.Deduper.items`) and one line per valid
document (``id``, ``source``, ``length`` and the encoded features). Features are encoded by :func:`encode`:
``None``, booleans, numbers, strings, lists and tuples (read back as lists), dicts with string keys, ``bytes`` and
numpy arrays. A partitionable deduper's bucket hashes are saved beside, sorted, for the partitioned decide phase
(:mod:`olmo_data.dedup.buckets`).
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gzip
import json
import logging
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from isal import isal_zlib

from olmo_core.cache import key_of, url_sha256
from olmo_core.config import changed_settings, to_dict
from olmo_core.documents import Document, DocumentRange, Quarantined
from olmo_core.errors import ConfigError, OlmoError, PluginError
from olmo_core.fast_json import parse_json_line
from olmo_core.io import open_atomic, open_file
from olmo_core.plugins import get_host

from olmo_data.dedup.base import Deduper, DocumentRef
from olmo_data.dedup.buckets import buckets_path, write_buckets
from olmo_data.layout import Layout
from olmo_data.parallel import PART_BYTES, Part, counted, joined_quarantine, map_parts

__all__ = ["CorruptedFeatures", "FileFeatures", "assembled", "compute_features", "decode", "encode",
           "features_by_file", "features_path", "load_features", "part_features", "save_features",
           "saved_header", "saved_items"]

log = logging.getLogger(__name__)

_ARRAY, _BYTES = "__ndarray__", "__bytes__"


def encode(value: Any) -> Any:
    """``value`` as JSON-able data that :func:`decode` turns back into it (tuples come back as lists)."""
    if isinstance(value, np.ndarray):
        return {_ARRAY: value.dtype.str, "shape": list(value.shape),
                "data": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode("ascii")}
    if isinstance(value, bytes):
        return {_BYTES: base64.b64encode(value).decode("ascii")}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"dedup features cannot hold a {type(value).__name__}: use numbers, strings, bytes, "
                    f"lists, dicts or numpy arrays")


def decode(value: Any) -> Any:
    """The value that :func:`encode` encoded."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        if _ARRAY in value:
            data = base64.b64decode(value["data"])
            return np.frombuffer(data, dtype=np.dtype(value[_ARRAY])).reshape(value["shape"]).copy()
        if _BYTES in value:
            return base64.b64decode(value[_BYTES])
        return {k: decode(v) for k, v in value.items()}
    return value


@dataclass
class FileFeatures:
    """One file's (or one part of a file's) documents and what each deduper computed for them."""

    records: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    documents: list[DocumentRef] = field(default_factory=list)
    features: dict[str, list[Any]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    items: dict[str, int] = field(default_factory=dict)
    """Per deduper, the sum of its :meth:`~olmo_data.dedup.base.Deduper.items` over the documents."""
    lines: int = 0
    """A split file's part: its lines (blank ones included), by which the quarantined records of the parts after
    it are renumbered."""
    held: list[Quarantined] = field(default_factory=list)
    """A split file's part: its quarantined records, numbered from its first line (:func:`assembled` keeps them)."""

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (from a worker to the deciding process) with the documents as columns: pickling each
        :class:`DocumentRef` (a frozen dataclass with slots) goes through Python-level state methods, about ten
        times slower."""
        documents = self.documents
        columns = ([d.id for d in documents], [d.source for d in documents], [d.length for d in documents],
                   [d.file for d in documents])
        return _unpickled, (self.records, self.quarantined, columns, self.features, dict(self.seconds), self.items,
                            self.lines, self.held)


def _unpickled(records: int, quarantined: Counter[str], columns: tuple[list[Any], ...], features: dict[str, list[Any]],
               seconds: dict[str, float], items: dict[str, int], lines: int, held: list[Quarantined]) -> FileFeatures:
    return FileFeatures(records, quarantined, list(map(DocumentRef, *columns)), features,
                        defaultdict(float, seconds), items, lines, held)


BATCH_CHARS = 1 << 18
"""Characters of text (256 Ki) up to which :func:`part_features` gathers a file's consecutive valid documents
before handing them to each deduper at once (:meth:`~olmo_data.dedup.base.Deduper.features_all`). Larger batches
cost more than they save: their buffers are fresh memory each time (page faults: 4 Mi made a worker fault in
8 times as many pages as one document at a time)."""


def compute_features(file: str, *, layout: Layout, dedupers: dict[str, Any]) -> FileFeatures:
    """Every deduper's features of every valid document of ``file``; invalid lines are quarantined."""
    return part_features(Part(file), layout=layout, dedupers=dedupers)


def part_features(part: Part, *, layout: Layout, dedupers: dict[str, Any]) -> FileFeatures:
    """Every deduper's features of every valid document of ``part``. A whole file's invalid lines are quarantined
    here; a split file's part holds them (:attr:`FileFeatures.held`) for :func:`assembled`."""
    built = {name: _feature_deduper(config) for name, config in dedupers.items()}
    result = FileFeatures(features={name: [] for name in built})
    quarantined: list[Quarantined] = []
    batch: list[Document] = []
    chars = 0
    records = part.records()
    for item in counted(records):
        result.records += 1
        if isinstance(item, Quarantined):
            quarantined.append(item)
            continue
        result.documents.append(DocumentRef(item.id, item.source or "(none)", len(item.text), part.file))
        batch.append(item)
        chars += len(item.text)
        if chars >= BATCH_CHARS:
            _add_features(built, batch, result, part.file)
            batch, chars = [], 0
    _add_features(built, batch, result, part.file)
    result.items = {name: sum(map(deduper.items, result.features[name])) for name, deduper in built.items()}
    if part.whole:
        result.quarantined = layout.keep_quarantined(part.file, quarantined)
    else:
        result.held = quarantined
        result.lines = records.lines if isinstance(records, DocumentRange) else 0
    return result


def assembled(file: str, parts: list[FileFeatures], layout: Layout) -> FileFeatures:
    """The features of ``file`` from those of its parts, in order (a whole file's: its only part), its quarantined
    lines kept, renumbered in the file."""
    if len(parts) == 1:
        return parts[0]
    total = FileFeatures(features={name: [] for name in parts[0].features}, items=dict.fromkeys(parts[0].items, 0))
    for part in parts:
        total.records += part.records
        total.documents += part.documents
        for name, values in part.features.items():
            total.features[name] += values
            total.seconds[name] += part.seconds[name]
            total.items[name] += part.items[name]
    total.quarantined = layout.keep_quarantined(file, joined_quarantine((p.held, p.lines) for p in parts))
    return total


def features_by_file(files: list[str], *, layout: Layout, dedupers: dict[str, Any], workers: int,
                     part_bytes: int = PART_BYTES, progress: Callable[[int], None] | None = None) \
        -> Iterator[FileFeatures]:
    """:func:`compute_features` of each of ``files``, in order, computed by ``workers`` processes, a file larger
    than ``part_bytes`` in parts (:func:`~olmo_data.parallel.map_parts`)."""
    work = functools.partial(part_features, layout=layout.for_workers(), dedupers=dedupers)
    with contextlib.closing(map_parts(work, files, workers=workers, part_bytes=part_bytes,
                                      progress=progress)) as found:
        for file, parts in found:
            yield assembled(file, parts, layout)


_FEATURE_DEDUPERS: dict[str, tuple[Any, Deduper]] = {}


def _feature_deduper(spec: Any) -> Deduper:
    """The deduper that ``spec`` configures, for its features: built once per process and plugin host (a deduper's
    features are a function of the document alone, so one instance serves every file a worker handles; building
    one validates its config, about a millisecond each time)."""
    host = get_host()
    key = json.dumps(to_dict(spec), sort_keys=True, default=str)
    found = _FEATURE_DEDUPERS.get(key)
    if found is None or found[0] is not host:
        found = _FEATURE_DEDUPERS[key] = (host, host.registry("dedupers").build(spec))
    return found[1]


def _add_features(built: dict[str, Deduper], batch: list[Document], result: FileFeatures, file: str) -> None:
    """Append each deduper's features of ``batch`` (consecutive documents of ``file``) to ``result``."""
    if not batch:
        return
    for name, deduper in built.items():
        start = time.perf_counter()
        try:
            found = deduper.features_all(batch)
        except OlmoError:
            raise
        except Exception as exc:
            failed = _first_failure(deduper, batch)
            raise PluginError(f"deduper '{name}' failed on document '{failed}' of {file}: "
                              f"{type(exc).__name__}: {exc}") from exc
        if len(found) != len(batch):
            raise PluginError(f"deduper '{name}' gave {len(found)} features for {len(batch)} documents of {file}")
        result.features[name] += found
        result.seconds[name] += time.perf_counter() - start


def _first_failure(deduper: Deduper, batch: list[Document]) -> str:
    """The id of the first document of ``batch`` whose features alone fail (``?`` when none does)."""
    for document in batch:
        try:
            deduper.features(document)
        except Exception:
            return document.id
    return "?"


def features_path(layout: Layout, name: str, file: str) -> str:
    """Where deduper ``name``'s features of the document file ``file`` are saved."""
    return f"{layout.root}/dedup/features/{name}/{layout.jsonl(file)}"


def save_features(file: str, found: FileFeatures, *, layout: Layout, dedupers: dict[str, Any]) -> None:
    """Save ``found`` (the features of ``file``), one file per deduper, each written atomically; for a
    partitionable deduper, its bucket hashes too (after the features)."""
    content = url_sha256(file)  # once for every deduper (keys as olmo_core.cache.content_key makes them)
    for name, spec in dedupers.items():
        key = key_of([content], to_dict(spec))
        header = {"file": layout.relative(file), "config": to_dict(spec), "key": key,
                  "records": found.records,
                  "quarantined": dict(found.quarantined), "seconds": found.seconds[name],
                  "items": found.items[name]}
        lines = [json.dumps(header, ensure_ascii=False) + "\n"]
        for document, features in zip(found.documents, found.features[name], strict=True):
            row = {"id": document.id, "source": document.source, "length": document.length,
                   "features": encode(features)}
            lines.append(json.dumps(row, ensure_ascii=False) + "\n")
        with open_atomic(features_path(layout, name, file), "wt", compression="gzip", encoding="utf-8") as f:
            f.write("".join(lines))
        deduper = _feature_deduper(spec)
        if deduper.partitionable:
            write_buckets(buckets_path(layout.root, name, layout.relative(file)),
                          [deduper.bucket_hashes(features) for features in found.features[name]],
                          file=layout.relative(file), config=to_dict(spec), key=key)


class CorruptedFeatures(ConfigError):
    """A saved features file that cannot be read back (bad gzip data, a checksum that fails, a line that is not
    JSON, a header without its fields): the message names the file and how to redo it."""

    def __init__(self, path: str, file: str, reason: str) -> None:
        super().__init__(f"{path} is corrupted ({reason}): delete it and run phase=features again for {file}")
        self.path, self.file, self.reason = path, file, reason

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (from a worker) with its three arguments."""
        return type(self), (self.path, self.file, self.reason)


_UNREADABLE = (EOFError, ValueError, KeyError, TypeError, zlib.error, isal_zlib.error, gzip.BadGzipFile)
"""What reading a damaged gzipped JSON-lines file raises (:class:`json.JSONDecodeError` and
:class:`UnicodeDecodeError` are :class:`ValueError`)."""


@contextlib.contextmanager
def _reading(path: str, file: str) -> Iterator[None]:
    """Turn what a damaged features file ``path`` (of the document file ``file``) raises when read into a
    one-line :class:`CorruptedFeatures`."""
    try:
        yield
    except _UNREADABLE as exc:
        raise CorruptedFeatures(path, file, f"{type(exc).__name__}: {exc}") from exc


def _read_saved(path: str, file: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The header and rows of the saved features file ``path``, read whole (so that gzip checks its checksum)."""
    with _reading(path, file), open_file(path, "rt", compression="gzip", encoding="utf-8") as f:
        header = _having(json.loads(f.readline()), ("file", "config", "records", "quarantined", "seconds"))
        rows = [_having(parse_json_line(line), ("id", "source", "length", "features")) for line in f]
    return header, rows


def _having(value: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """``value``, a dict with every one of ``keys``; else a :class:`KeyError` naming the first missing."""
    if not isinstance(value, dict):
        raise KeyError(f"a line is {type(value).__name__}, not an object")
    for key in keys:
        if key not in value:
            raise KeyError(key)
    return value


def _computed_again(file: str, *, layout: Layout, dedupers: dict[str, Any]) -> FileFeatures:
    found = compute_features(file, layout=layout, dedupers=dedupers)
    save_features(file, found, layout=layout, dedupers=dedupers)
    return found


def load_features(file: str, *, layout: Layout, dedupers: dict[str, Any], recompute: bool = True) -> FileFeatures:
    """The features of ``file`` that :func:`save_features` saved, checked against the dedupers' configs; computed
    (and saved) again when ``file``'s content changed since or a saved file is corrupted (unless not
    ``recompute``: then an error naming the file, :class:`CorruptedFeatures` for a corrupted one)."""
    result = FileFeatures(features={})
    content = url_sha256(file)
    for name, spec in dedupers.items():
        path = features_path(layout, name, file)
        try:
            header, rows = _read_saved(path, layout.relative(file))
        except CorruptedFeatures as exc:
            if not recompute:
                raise
            log.warning("%s is corrupted (%s): computing its features again", exc.path, exc.reason)
            return _computed_again(file, layout=layout, dedupers=dedupers)
        if header["file"] != layout.relative(file):
            raise ConfigError(f"{path} holds the features of {header['file']}, not of {layout.relative(file)}")
        if header["config"] != to_dict(spec):
            raise ConfigError(f"{path} was computed with other {name} settings than this run's "
                              f"({changed_settings(header['config'], to_dict(spec))}): run phase=features again "
                              f"with these settings")
        if header.get("key") != key_of([content], to_dict(spec)):
            if not recompute:
                raise ConfigError(f"{file} changed since its features were saved ({path}): run phase=features "
                                  f"and every phase after it again")
            log.warning("%s was computed from other content of %s: computing its features again", path, file)
            return _computed_again(file, layout=layout, dedupers=dedupers)
        documents = [DocumentRef(row["id"], row["source"], row["length"], file) for row in rows]
        if name == next(iter(dedupers)):
            result.records, result.quarantined, result.documents = \
                header["records"], Counter(header["quarantined"]), documents
        elif documents != result.documents:
            raise ConfigError(f"the saved features of {layout.relative(file)} differ in their documents between "
                              f"dedupers: run phase=features again for all of them")
        with _reading(path, layout.relative(file)):
            result.features[name] = [decode(row["features"]) for row in rows]
        result.seconds[name] = header["seconds"]
        result.items[name] = header["items"] if "items" in header else \
            sum(map(get_host().registry("dedupers").build(spec).items, result.features[name]))
    return result


def saved_items(file: str, *, layout: Layout, name: str, spec: Any) -> int:
    """The sum of deduper ``name``'s :meth:`~olmo_data.dedup.base.Deduper.items` over ``file``'s saved
    features, from the header (from the features themselves in a file saved before headers held it)."""
    header = saved_header(file, layout=layout, name=name)
    if "items" in header:
        return int(header["items"])
    return load_features(file, layout=layout, dedupers={name: spec}).items[name]


def saved_header(file: str, *, layout: Layout, name: str) -> dict[str, Any]:
    """The header of deduper ``name``'s saved features of ``file`` (see the module's description)."""
    path = features_path(layout, name, file)
    with _reading(path, layout.relative(file)), open_file(path, "rt", compression="gzip", encoding="utf-8") as f:
        return _having(json.loads(f.readline()), ("file", "config"))
