"""Dolma documents, the unit every curation step reads and writes, and reading them from JSON lines.

JSON lines may be plain, ``.gz`` or ``.zst``, on any fsspec URL; Parquet files are read in batches. Nothing is
lost: every line becomes either a :class:`Document` or a :class:`Quarantined` record that names the file, the
line and the reason, and keeps the raw bytes. A step that reads nothing but quarantined records fails
(:func:`require_documents`) instead of writing an empty output.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import io
import json
import logging
import os
import posixpath
import stat
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import fsspec
from fsspec.core import url_to_fs
from fsspec.utils import infer_compression
from isal import isal_zlib

from olmo_core.errors import ConfigError, MissingDependencyError, OlmoError, UsageError
from olmo_core.fast_json import parse_json_line
from olmo_core.io import exists, glob, is_local

try:
    from zstandard import ZstdError
except ImportError:  # zstandard is optional in core; reading .zst asks for it
    ZstdError = OSError  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)

_READ_ERRORS = (EOFError, OSError, zlib.error, isal_zlib.error, ValueError, ZstdError)

__all__ = ["DATASET_FOLDERS", "DOCUMENT_SUFFIXES", "PARQUET_SUFFIXES", "Document", "DocumentError", "DocumentRange",
           "NoDocumentsError", "NotDocumentsError", "Quarantined", "TrailingDataError", "TruncatedError",
           "decode_metadata", "document_files", "not_a_regular_file", "read_documents", "renumbered",
           "require_documents"]

DOCUMENT_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json.gz", ".json", ".json.zst", ".parquet", ".pq")
PARQUET_SUFFIXES = (".parquet", ".pq")
DATASET_FOLDERS = ("attributes", "quarantine", "dropped", "reports")
"""The folders a dataset keeps beside its ``documents/``: files in them are never read as documents."""


class DocumentError(ValueError):
    """A record that is not a valid Dolma document; the message is the reason it was quarantined."""


class NotDocumentsError(UsageError):
    """An input names a dataset's derived files (its ``attributes/``, ``quarantine/`` ...) instead of its
    documents (a wrong argument, so that it is never mistaken for an input that is merely incomplete)."""


class NoDocumentsError(OlmoError):
    """Every record a step read was quarantined: it read no valid document (see :func:`require_documents`)."""


@dataclass(slots=True, kw_only=True)
class Document:
    """One Dolma document: ``id`` (unique within its ``source``), ``text``, ``source``, timestamps, metadata."""

    id: str
    text: str
    source: str = ""
    added: str | None = None
    created: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    """The record's other top-level fields (``lang``, ``attributes`` ...), written back as they came."""
    line: int = field(default=0, compare=False, repr=False)
    """The 1-based line (a Parquet file's row) it was read from (:func:`read_documents`); 0 when not read."""

    @classmethod
    def from_json(cls, record: Any) -> Document:
        """Validate a parsed JSON record; raise :class:`DocumentError` saying what is wrong with it."""
        if not isinstance(record, dict):
            raise DocumentError(f"expected a JSON object, got {type(record).__name__}")
        text = record.get("text")
        if text is None:
            raise DocumentError("'text' is null" if "text" in record else "missing 'text'")
        if not isinstance(text, str):
            raise DocumentError(f"'text' is {type(text).__name__}, not a string")
        doc_id = record.get("id")
        if doc_id is None or isinstance(doc_id, (dict, list)):
            raise DocumentError("missing 'id'" if doc_id is None else "'id' is not a string or number")
        metadata = record.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise DocumentError(f"'metadata' is {type(metadata).__name__}, not an object")
        extra = {k: v for k, v in record.items() if k not in _FIELDS} if not _FIELDS.issuperset(record) else {}
        return cls(id=str(doc_id), text=text, source=str(record.get("source") or ""), added=record.get("added"),
                   created=record.get("created"), metadata=metadata, extra=extra)

    def to_json(self) -> dict[str, Any]:
        """The document as a Dolma JSON record."""
        record: dict[str, Any] = {"id": self.id, "text": self.text, "source": self.source}
        if self.added is not None:
            record["added"] = self.added
        if self.created is not None:
            record["created"] = self.created
        if self.metadata:
            record["metadata"] = self.metadata
        if self.extra:
            record.update(self.extra)
        return record


_FIELDS = frozenset(("id", "text", "source", "added", "created", "metadata"))
"""The fields of a Dolma document that :class:`Document` holds by name."""


@dataclass(frozen=True, kw_only=True)
class Quarantined:
    """A line (or the unreadable rest of a file) that is not a valid document, and why."""

    file: str
    line: int
    reason: str
    raw: bytes = b""

    @property
    def kind(self) -> str:
        """The reason's words before any detail in parentheses: what reports count quarantined lines by."""
        return self.reason.split(" (")[0]

    def to_json(self) -> dict[str, Any]:
        """The record as JSON, the raw bytes base64-encoded so that nothing is lost."""
        return {"file": self.file, "line": self.line, "reason": self.reason,
                "raw_base64": base64.b64encode(self.raw).decode("ascii")}


def _lines(url: str) -> Iterator[bytes]:
    if url.endswith(".zst"):
        yield from _zstd_lines(url)
    elif infer_compression(url) == "gzip":
        yield from _member_lines(url, lambda: isal_zlib.decompressobj(wbits=31), "gzip member", skip=b"\x00",
                                 magic=b"\x1f\x8b")
    else:
        with fsspec.open(url, "rb", compression="infer") as f:
            yield from f


class TrailingDataError(ValueError):
    """A compressed file whose last complete member is followed by bytes that are no member; ``raw`` holds the
    bytes of its last, unfinished line."""

    def __init__(self, message: str, raw: bytes = b"") -> None:
        super().__init__(message)
        self.raw = raw


class TruncatedError(EOFError):
    """A compressed file that ends inside a member (frame): what could be read came before it; ``raw`` holds the
    bytes of its last, unfinished line."""

    def __init__(self, message: str, raw: bytes) -> None:
        super().__init__(message)
        self.raw = raw


def _zstd_lines(url: str) -> Iterator[bytes]:
    try:
        import zstandard
    except ImportError:
        raise MissingDependencyError("reading .zst files", distribution="zstandard") from None
    yield from _member_lines(url, zstandard.ZstdDecompressor().decompressobj, "zstd frame", magic=b"\x28\xb5\x2f\xfd")


def _member_lines(url: str, new_stream: Callable[[], Any], member: str, skip: bytes = b"",
                  magic: bytes = b"") -> Iterator[bytes]:
    """The lines of a compressed file of one or more members (gzip members, zstd frames), each decompressed by a
    fresh ``new_stream()``; ``skip`` bytes between members are padding (gzip allows zeros). The file is read in
    1 MiB blocks and decompressed 64 KiB at a time, every complete line yielded as it comes, so that a file that
    ends inside a member (:class:`TruncatedError`) has given every line before the damage. Corrupt data makes the
    decompressor raise and drop what it decoded from that 64 KiB (which may be megabytes of text): the member
    is then decoded again, its damaged 64 KiB a byte at a time (:func:`_salvaged`), so that every complete line
    decoded before the damage is given too, and the error carries the unfinished line's bytes (``raw``). Bytes
    after the last member that do not start as one (``magic``) are :class:`TrailingDataError`, not a truncated
    member."""
    pending, head, ended = b"", b"", 0
    with fsspec.open(url, "rb") as raw:
        stream, started = new_stream(), False
        offset = member_at = 0  # where ``chunk`` and the current member start in the file
        while block := raw.read(1 << 20):
            for at in range(0, len(block), 1 << 16):
                chunk = block[at:at + (1 << 16)]
                while chunk:
                    if not started and skip:
                        size = len(chunk)
                        if not (chunk := chunk.lstrip(skip)):
                            offset += size
                            break
                        offset += size - len(chunk)
                    if not started:
                        head, started, member_at = b"", True, offset
                    head += chunk[:max(0, len(magic) - len(head))]
                    try:
                        pending += stream.decompress(chunk)
                    except (isal_zlib.error, zlib.error, ZstdError) as exc:
                        if not (ended and head != magic[:len(head)]):  # not trailing bytes: a damaged member
                            pending += _salvaged(raw, new_stream, member_at, offset, chunk)
                        complete, pending = _complete_lines(pending)  # every line before the damage
                        yield from io.BytesIO(complete)
                        _check_member_start(head, magic, member, ended, pending)
                        exc.raw = pending  # type: ignore[union-attr]  # the unfinished line, kept in quarantine
                        raise
                    offset += len(chunk)
                    chunk = b""
                    if stream.eof:
                        chunk, stream, started, ended = stream.unused_data, new_stream(), False, ended + 1
                        offset -= len(chunk)
                complete, pending = _complete_lines(pending)
                yield from io.BytesIO(complete)
        if started:
            _check_member_start(head, magic, member, ended, pending)
            raise TruncatedError(f"compressed stream ended before the end of its {member} (truncated file)", pending)
    if pending:
        yield pending


def _salvaged(raw: Any, new_stream: Callable[[], Any], member_at: int, chunk_at: int, chunk: bytes) -> bytes:
    """What a decompressor decodes from ``chunk`` (at ``chunk_at`` of the file ``raw``) before the damage in it
    that made it raise: the member that starts at ``member_at`` decoded again by a fresh ``new_stream()`` up to
    ``chunk_at`` (its output there was given already), then ``chunk`` fed a byte at a time, so that only the
    output of the byte where the damage shows is lost. Read only for a damaged file."""
    stream, out = new_stream(), []
    try:
        raw.seek(member_at)
        while (left := chunk_at - raw.tell()) > 0 and (block := raw.read(min(left, 1 << 20))):
            stream.decompress(block)
        for at in range(len(chunk)):
            out.append(stream.decompress(chunk[at:at + 1]))
            if stream.eof:  # the member ends here after all: nothing more of it to save
                break
    except (*_READ_ERRORS, AttributeError):  # the damage (or a file that cannot seek): keep what came before
        pass
    return b"".join(out)


def _complete_lines(data: bytes) -> tuple[bytes, bytes]:
    """``data`` cut after its last newline: its complete lines, and the unfinished rest."""
    cut = data.rfind(b"\n") + 1
    return data[:cut], data[cut:]


def _check_member_start(head: bytes, magic: bytes, member: str, ended: int, pending: bytes) -> None:
    """Raise :class:`TrailingDataError` when the bytes after ``ended`` (at least one) complete members start
    (``head``) otherwise than a member does (``magic``)."""
    if ended and head != magic[:len(head)]:
        raise TrailingDataError(f"the data after its last {member} is not a {member} (trailing bytes)", pending)


def decode_metadata(value: Any) -> Any:
    """A Parquet ``metadata`` value as Dolma reads it: a JSON string is parsed (Dolma's Parquet files keep
    metadata as JSON text), a map column's ``[(key, value), ...]`` becomes an object, anything else is
    returned as it is. Raises :class:`DocumentError` for a string that is not JSON."""
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise DocumentError(f"'metadata' is a string that is not JSON ({exc.msg})") from None
    if isinstance(value, list) and value and all(isinstance(v, tuple) and len(v) == 2 for v in value):
        return {str(k): v for k, v in value}
    return value


def _plain(value: Any) -> Any:
    """A Parquet value as JSON: dates and times as ISO text, bytes as base64, maps as objects."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


def _parquet_records(url: str) -> Iterator[tuple[int, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependencyError("reading Parquet documents", distribution="pyarrow") from None
    with fsspec.open(url, "rb") as f:
        row = 0
        for batch in pq.ParquetFile(f).iter_batches(batch_size=1024):
            for record in batch.to_pylist():
                row += 1
                yield row, record


def _read_parquet(url: str) -> Iterator[Document | Quarantined]:
    number = 0
    try:
        for number, record in _parquet_records(url):
            try:
                record = {k: _plain(decode_metadata(v) if k == "metadata" else v) for k, v in record.items()}
                document = Document.from_json(record)
                document.line = number
                yield document
            except DocumentError as exc:
                raw = json.dumps(record, default=str, ensure_ascii=False).encode("utf-8")
                yield Quarantined(file=url, line=number, reason=str(exc), raw=raw)
    except _READ_ERRORS as exc:
        yield Quarantined(file=url, line=number + 1,
                          reason=f"unreadable after row {number}: {type(exc).__name__}: {exc}".rstrip(": "))


def read_documents(url: str) -> Iterator[Document | Quarantined]:
    """Yield the documents of one JSON-lines file, and a :class:`Quarantined` record for each bad line.

    A truncated or corrupt compressed file yields the documents before the damage and one record for the
    rest; blank lines are skipped, and each document keeps its 1-based ``line``. Parquet files (``.parquet``,
    ``.pq``) with Dolma's columns are read in batches; a "line" is then a row, and a ``metadata`` column of
    JSON text is parsed as Dolma does (:func:`decode_metadata`).
    """
    if url.endswith(PARQUET_SUFFIXES):
        yield from _read_parquet(url)
        return
    number = 0
    try:
        for number, raw in enumerate(_lines(url), start=1):
            if (record := _record(url, number, raw)) is not None:
                yield record
    except _READ_ERRORS as exc:
        yield _unreadable(url, number, exc)


def _record(url: str, number: int, raw: bytes) -> Document | Quarantined | None:
    """The document on line ``number`` (its bytes ``raw``), a record of why it is not one, or ``None`` (blank)."""
    if not raw.strip():
        return None
    try:
        document = Document.from_json(parse_json_line(raw))
    except UnicodeDecodeError as exc:
        return Quarantined(file=url, line=number, reason=f"not UTF-8 ({exc.reason} at byte {exc.start})", raw=raw)
    except json.JSONDecodeError as exc:
        at = exc.msg if exc.msg.endswith(" at") else f"{exc.msg} at"  # "Unterminated string starting at"
        return Quarantined(file=url, line=number, reason=f"invalid JSON ({at} column {exc.colno})", raw=raw)
    except DocumentError as exc:
        return Quarantined(file=url, line=number, reason=str(exc), raw=raw)
    document.line = number
    return document


_UNREADABLE = "unreadable after line "
RecordT = TypeVar("RecordT", Document, Quarantined)


def _unreadable(url: str, number: int, exc: BaseException) -> Quarantined:
    return Quarantined(file=url, line=number + 1, raw=getattr(exc, "raw", b""),
                       reason=f"{_UNREADABLE}{number}: {type(exc).__name__}: {exc}".rstrip(": "))


class DocumentRange:
    """The records of the lines of a JSON-lines file that start within bytes ``[start, end)`` of its content
    (``end=None``: to the end), numbered from 1 at the range's first line: one part of a file read in parallel.

    The ranges that tile a file yield together, in order, exactly what :func:`read_documents` yields, once each
    record's ``line`` is shifted by the lines of the ranges before it (:func:`renumbered`; :attr:`lines` counts
    a range's lines, blank ones included, once it is read). A plain file is read from ``start`` on: the line
    that straddles ``start`` is left to the range before, and the line that straddles ``end`` is read to its
    end. A compressed file cannot be entered in the middle, so its content is decompressed from the start and
    the lines before ``start`` are passed over unparsed. A file that is unreadable from some point on yields
    its one :class:`Quarantined` record from the range in which the unreadable line starts. Parquet files are
    not read in ranges."""

    def __init__(self, url: str, start: int, end: int | None) -> None:
        if url.endswith(PARQUET_SUFFIXES):
            raise ValueError(f"{url}: Parquet files are not read in byte ranges")
        self.url, self.start, self.end = url, start, end
        self.lines = 0
        """Lines that start in the range, blank ones included (counted as the range is read)."""

    def __iter__(self) -> Iterator[Document | Quarantined]:
        self.lines = 0
        offset = 0  # where the next line starts in the file's content
        try:
            for offset, raw in self._raw_lines():
                if self.end is not None and offset >= self.end:
                    return
                if offset >= self.start:
                    self.lines += 1
                    if (record := _record(self.url, self.lines, raw)) is not None:
                        yield record
                offset += len(raw)
        except _READ_ERRORS as exc:
            if self.start <= offset and (self.end is None or offset < self.end):
                yield _unreadable(self.url, self.lines, exc)

    def _raw_lines(self) -> Iterator[tuple[int, bytes]]:
        """Each line with the offset where it starts: from the start of the content, or for a plain file from the
        first line that starts at or after ``start``."""
        offset = 0
        if self.start > 0 and infer_compression(self.url) is None:
            with fsspec.open(self.url, "rb") as f:
                f.seek(self.start - 1)
                offset = self.start - 1 + len(f.readline())  # the line that holds the byte before ``start``
                for raw in f:
                    yield offset, raw
                    offset += len(raw)
            return
        for raw in _lines(self.url):
            yield offset, raw
            offset += len(raw)


def renumbered(record: RecordT, lines_before: int) -> RecordT:
    """``record`` of a :class:`DocumentRange` numbered in its file: its line shifted by the ``lines_before``
    of the ranges before it (an unreadable file's record says after which line of the file it broke off)."""
    if not lines_before:
        return record
    if isinstance(record, Document):
        return dataclasses.replace(record, line=record.line + lines_before)
    reason = record.reason
    if reason.startswith(f"{_UNREADABLE}{record.line - 1}"):
        reason = f"{_UNREADABLE}{record.line - 1 + lines_before}{reason[len(f'{_UNREADABLE}{record.line - 1}'):]}"
    return dataclasses.replace(record, line=record.line + lines_before, reason=reason)


def document_files(input: str, *, skipped: dict[str, str] | None = None, key: str = "input") -> list[str]:
    """The document files that ``input`` names: a glob, a file, a dataset directory (its ``documents/``)
    or any directory (searched recursively). Errors name it as the config ``key`` that gave it (``eval=...``).

    Entries that only look like document files are left out, each with a logged reason that is also put in
    ``skipped`` (path -> reason) when given: directories (the files in them are read), sockets, pipes and
    devices, broken links, and files reached through a link that points out of ``input``'s directory (of a
    dataset: out of its ``documents/``, which may itself be a link; links out of a dataset are never
    followed). Raises :class:`ConfigError` when no file is left, and
    :class:`NotDocumentsError` when a file lies in one of a dataset's :data:`DATASET_FOLDERS`
    (``attributes/``, ``quarantine/``, ``dropped/``, ``reports/`` beside a ``documents/``): those hold
    attributes, quarantined lines and reports, never documents to read."""
    input = input.rstrip("/")
    fs, path = url_to_fs(input)
    magic = [input.find(ch) for ch in "*?[" if ch in input]
    if magic:
        found, root = glob(input), os.path.dirname(input[: min(magic)]) or "."
    elif input.endswith(DOCUMENT_SUFFIXES) and not fs.isdir(path):
        found, root = ([input] if exists(input) else []), None
    else:
        base = f"{input}/documents" if exists(f"{input}/documents") else input
        listed = glob(f"{base}/**")
        found, root = [f for f in listed if f.endswith(DOCUMENT_SUFFIXES)], base
        if base == input and (other := _other_than_documents(listed, found)):
            raise ConfigError(f"{key}='{input}' holds {other}, not documents")
    files, refused = [], {} if skipped is None else skipped
    for file in found:
        if (reason := not_a_regular_file(file, root)) is None:
            files.append(file)
        else:
            refused[file] = reason
    if not files:
        why = f" ({len(refused)} skipped, first: {next(iter(refused.values()))})" if refused else ""
        raise ConfigError(f"{key}='{input}' matches no document files ({', '.join(DOCUMENT_SUFFIXES)}){why}")
    _refuse_dataset_folders(input, files, key)
    return sorted(files)


def _other_than_documents(listed: list[str], found: list[str]) -> str | None:
    """What a folder without ``documents/`` holds when its files are olmo's of another kind, whose ``.json``
    files (``found``) are metadata, not documents: checkpoints (``manifest.json`` beside ``.safetensors``), or token
    arrays (``part-*.npy``) with no JSON-lines file beside them."""
    names = {posixpath.basename(f) for f in listed}
    if "manifest.json" in names and any(name.endswith(".safetensors") for name in names):
        return "model checkpoints (manifest.json)"
    if any(name.startswith("part-") and name.endswith(".npy") for name in names) and \
            all(f.endswith(".json") for f in found):
        return "token arrays (part-*.npy)"
    return None


def not_a_regular_file(url: str, root: str | None) -> str | None:
    """Why ``url`` is not read as an input file (logged as a warning), or ``None`` when it is a regular file
    inside the directory ``root`` (``None``: anywhere): a directory, a socket, pipe or device, a broken link, or a
    link that points out of ``root``."""
    reason = _why_not_regular(url, root)
    if reason is not None:
        _warn_once(url, reason)
    return reason


@functools.lru_cache(maxsize=1024)
def _warn_once(url: str, reason: str) -> None:
    """A command lists its inputs more than once (to plan, then to read): say each skip once."""
    log.warning("skipped %s: %s", url, reason)


def _why_not_regular(url: str, root: str | None) -> str | None:
    fs, path = url_to_fs(url)
    if not is_local(fs):
        return None if fs.isfile(path) else "a directory, not a file (the files in it are read)"
    target = os.path.realpath(path)
    if root is not None:
        top = os.path.realpath(url_to_fs(root)[1])
        if os.path.commonpath([top, target]) != top:
            return f"a link to {target}, outside {root}: links out of a dataset are not followed"
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return f"a broken link ({exc.strerror})"
    if stat.S_ISDIR(mode):
        return "a directory, not a file (the files in it are read)"
    return None if stat.S_ISREG(mode) else "not a regular file (a socket, pipe or device)"


def _refuse_dataset_folders(input: str, files: list[str], key: str = "input") -> None:
    checked: dict[str, bool] = {}
    for file in files:
        parts = file.split("/")
        for i in range(len(parts) - 2, 0, -1):
            if parts[i] not in DATASET_FOLDERS:
                continue
            dataset = "/".join(parts[:i])
            if dataset not in checked:
                checked[dataset] = exists(f"{dataset}/documents")
            if checked[dataset]:
                raise NotDocumentsError(f"{key}='{input}' reads {'/'.join(parts[:i + 1])}/, which holds the "
                                        f"dataset's {parts[i]}, not documents: give {key}={dataset} (its "
                                        f"documents/) instead")


def require_documents(records: int, documents: int, *, input: str, step: str,
                      reasons: Mapping[str, int] | None = None, report: str | None = None) -> None:
    """Raise :class:`NoDocumentsError` when a step read ``records`` records and every one was quarantined
    (``documents == 0 < records``), so that such a run exits non-zero with one line instead of writing an
    empty output; ``reasons`` (quarantine reason -> count) and ``report`` (where the step's report is) are
    named in the message. An input with no records at all passes, with a warning."""
    if records == 0:
        log.warning(f"{step}: input='{input}' holds no records (its files are empty), so its output is empty")
    if records == 0 or documents > 0:
        return
    why = ", ".join(f"{reason}: {n}" for reason, n in sorted((reasons or {}).items(), key=lambda kv: -kv[1])[:3])
    where = f"; see {report}" if report else ""
    raise NoDocumentsError(f"{step}: all {records:,} records of input='{input}' were quarantined"
                           f"{f' ({why})' if why else ''}, so there is no document to work on{where}")
