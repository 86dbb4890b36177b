"""Users' own documents as sources: Dolma JSON lines, Parquet, and folders of plain-text files.

Each is configured by ``path`` (a file, a folder or a glob, on any fsspec URL) and ``name`` (the output folder
and the documents' ``source``, except that Parquet rows keep a ``source`` of their own; by default the last part
of the path). Reading fails with a one-line error when the path matches no files, and when every record of
them was rejected.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fsspec.core import url_to_fs

from olmo_core.cache import url_sha256
from olmo_core.config import REQUIRED
from olmo_core.documents import (DOCUMENT_SUFFIXES, Document, DocumentError, Quarantined, decode_metadata,
                                 not_a_regular_file, read_documents, require_documents)
from olmo_core.errors import ConfigError
from olmo_core.io import check_name

from olmo_data.sources.base import Source, SourceConfig

__all__ = ["JsonlSource", "ParquetConfig", "ParquetSource", "TextFolderConfig", "TextFolderSource",
           "UserSourceConfig"]


@dataclass(kw_only=True)
class UserSourceConfig(SourceConfig):
    """Options of a source made of the user's files."""

    path: str = REQUIRED
    """A file, a folder (searched recursively) or a glob, on any fsspec URL (local, ``s3://``, ``memory://``)."""
    name: str = ""
    """The source's name: the output folder and the documents' ``source`` (a Parquet row's own ``source`` is
    kept); one plain name (letters, digits, ``.``, ``_``, ``-``), so that it never leaves the output; default:
    the last part of ``path``."""
    held_out: str = "include"
    """Your files are yielded whole by default (``exclude``/``only`` apply the built-in held-out rule)."""


@dataclass(kw_only=True)
class ParquetConfig(UserSourceConfig):
    """Options of a Parquet source."""

    text_column: str = "text"
    """The column that holds each document's text."""
    id_column: str = "id"
    """The column of document ids; without one, ids are ``<name>-<file>-<row>``."""


@dataclass(kw_only=True)
class TextFolderConfig(UserSourceConfig):
    """Options of a plain-text folder source."""

    pattern: str = "**/*.txt"
    """Which files below ``path`` are documents (a glob relative to it)."""


class _UserFiles(Source):
    kind = ""
    """The registered name of this kind of source (the default name)."""
    suffixes: tuple[str, ...] = ()
    """Which files a folder path selects."""
    keep_empty = False

    def __init__(self, config: UserSourceConfig) -> None:
        super().__init__(config)
        self.name = check_name(f"sources.{self.kind}.name", config.name) if config.name else \
            _name_from(config.path, self.suffixes) or self.kind

    def pattern(self) -> str:
        """The glob below a folder path that selects its files."""
        return "**"

    def files(self) -> list[tuple[str, str]]:
        """``(path, path relative to the configured folder)`` of every file read, sorted; paths are those of
        :attr:`fs`."""
        if self.config.path in (REQUIRED, ""):
            raise ConfigError(f"source '{self.kind}' needs the files to read: set sources.{self.kind}.path=<file, "
                              f"folder or glob>")
        self.fs, root = url_to_fs(self.config.path)
        if any(ch in root for ch in "*?["):
            found, base = self.fs.glob(root), root[: min(root.find(c) for c in "*?[" if c in root)].rsplit("/", 1)[0]
        elif self.fs.isfile(root):
            found, base = [root], root.rsplit("/", 1)[0]
        else:
            found, base = [p for p in self.fs.glob(f"{root}/{self.pattern()}") if p.endswith(self.suffixes)], root
        inside = None if found == [root] else self.fs.unstrip_protocol(base)
        found = sorted(p for p in found if not_a_regular_file(self.fs.unstrip_protocol(p), inside) is None)
        if not found:
            raise ConfigError(f"sources.{self.kind}.path='{self.config.path}' matches no {self.kind} files")
        return [(p, p[len(base) + 1:] if p.startswith(base + "/") else p.rsplit("/", 1)[-1]) for p in found]

    def fingerprint(self) -> dict[str, Any]:
        """The base fingerprint plus each file's sha256, so that changed inputs are read again."""
        return {**super().fingerprint(),
                "files": {relative: url_sha256(self.fs.unstrip_protocol(p)) for p, relative in self.files()}}

    def require_some(self, yielded: int) -> None:
        """Fail in one line when the files were read to the end and every record was rejected."""
        require_documents(yielded + sum(self.rejected.values()), yielded, input=self.config.path,
                          step=f"source '{self.name}'", reasons=self.rejected)


def _raw(record: dict[str, Any]) -> bytes:
    """A Parquet row as the JSON bytes its quarantine entry keeps."""
    return json.dumps(_plain(record), ensure_ascii=False).encode("utf-8")


def _name_from(path: str, suffixes: tuple[str, ...]) -> str:
    parts = [p for p in path.split("://")[-1].rstrip("/").split("/") if p and not any(c in p for c in "*?[")]
    last = parts[-1] if parts else ""
    for suffix in sorted(suffixes, key=len, reverse=True):
        last = last.removesuffix(suffix)
    return re.sub(r"[^A-Za-z0-9._-]+", "_", last).strip("._")


class JsonlSource(_UserFiles):
    """Dolma JSON-lines files (plain, .gz or .zst): each record keeps its own ``id``, ``text``, timestamps and
    metadata; ``source`` becomes this source's name (a different original one is kept in
    ``metadata.original_source``). Invalid lines are quarantined (:attr:`quarantined`)."""

    kind = "jsonl"
    description = "your Dolma JSON-lines files (path=...)"
    license = "yours"
    suffixes = DOCUMENT_SUFFIXES

    def read(self) -> Iterator[Document]:
        yielded = 0
        for path, _ in self.files():
            url = self.fs.unstrip_protocol(path)
            for item in read_documents(url):
                if isinstance(item, Quarantined):
                    self.quarantined.append(item)
                    continue
                if item.source and item.source != self.name:
                    item.metadata = {**item.metadata, "original_source": item.source}
                item.source = self.name
                yielded += 1
                yield item
        self.require_some(yielded)


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class ParquetSource(_UserFiles):
    """Parquet files: the text from ``text_column``, the id from ``id_column`` (else ``<name>-<file>-<row>``),
    a row's own ``source`` kept (else this source's name), ``added`` and ``created`` columns as such, every other
    column in ``metadata`` (a ``metadata`` column is merged in; JSON text in it is parsed, as Dolma does)."""

    kind = "parquet"
    description = "your Parquet files (path=..., text_column=...)"
    license = "yours"
    suffixes = (".parquet", ".pq")

    def read(self) -> Iterator[Document]:
        import pyarrow.parquet as pq

        yielded = 0
        for path, relative in self.files():
            url = self.fs.unstrip_protocol(path)
            with self.fs.open(path, "rb") as f:
                parquet = pq.ParquetFile(f)
                columns = parquet.schema_arrow.names
                if self.config.text_column not in columns:
                    raise ConfigError(f"{path} has no column '{self.config.text_column}' (columns: "
                                      f"{', '.join(columns)}): set sources.parquet.text_column=...")
                row = 0
                for batch in parquet.iter_batches(batch_size=1024):
                    for record in batch.to_pylist():
                        row += 1
                        original = dict(record)  # kept whole for the quarantine, serialized only there
                        text = record.pop(self.config.text_column)
                        if not isinstance(text, str):
                            self.quarantined.append(Quarantined(
                                file=url, line=row, reason=f"'{self.config.text_column}' is not a string",
                                raw=_raw(original)))
                            continue
                        doc_id = record.pop(self.config.id_column, None)
                        own = record.pop("source", None)
                        try:
                            extra = _plain(decode_metadata(record.pop("metadata", None)) or {})
                        except DocumentError as exc:
                            self.quarantined.append(Quarantined(file=url, line=row, reason=str(exc),
                                                                raw=_raw(original)))
                            continue
                        metadata = extra if isinstance(extra, dict) else {"metadata": extra}
                        times = {k: None if record.get(k) is None else str(_plain(record.pop(k)))
                                 for k in ("added", "created")}
                        metadata.update({k: _plain(v) for k, v in record.items() if v is not None})
                        yielded += 1
                        yield Document(id=str(doc_id) if doc_id is not None else self.doc_id(f"{relative}-{row}"),
                                       text=text, source=str(own) if own not in (None, "") else self.name,
                                       metadata=metadata, **times)
        self.require_some(yielded)


class TextFolderSource(_UserFiles):
    """A folder of plain-text files, one document per file (UTF-8): ids are ``<name>-<relative path>`` and
    ``metadata.path`` is that path. Files that are not UTF-8 are quarantined; empty ones are dropped."""

    kind = "text-folder"
    description = "your folder of plain-text files, one document per file (path=...)"
    license = "yours"
    suffixes = ("",)

    def pattern(self) -> str:
        return self.config.pattern

    def read(self) -> Iterator[Document]:
        for path, relative in self.files():
            data = self.fs.cat_file(path)
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                self.quarantined.append(Quarantined(file=self.fs.unstrip_protocol(path), line=0,
                                                    reason=f"not UTF-8 ({exc})", raw=data))
                continue
            yield self.document(relative, text, path=relative)
