"""Shard-parallel processing: files, or parts of large files, handled by a pool of local processes.

Results come back in shard order whatever the number of workers, and each shard's output files depend only
on that shard, so a run with ``workers=4`` writes exactly what ``workers=1`` writes. Workers are forked
where the platform allows it, so plugins registered at run time are visible to them; elsewhere they start
afresh and load plugins from entry points and ``OLMO_PLUGINS``. Workers end with their parent, even when it
is killed (:func:`die_with_parent`). Progress is counted per document as workers read (:func:`read_counted`).

Within-file parallelism (:func:`split_file`; :func:`map_parts` as ``olmo data tag``, ``dedup`` and ``mix`` use it;
``tokenize`` splits the same way, ``filter`` and ``stats`` after :func:`parts_with_documents_before`): a file is
split into parts (:class:`Part`) so that ``workers=K`` puts K cores on one large file.

- *How a file is split depends only on the file and the part size* (:data:`PART_BYTES`, a job's ``part_bytes``),
  never on the number of workers: ``count = ceil(content size / part_bytes)`` parts (at least 1), part ``i``
  holding the lines that *start* in bytes ``[i * part_bytes, (i + 1) * part_bytes)`` of the file's content
  (the last part: to the end). Parts of all files go to the pool in file order; a job gets each file's part
  results together, in order, and assembles them, so its output is the same for any K and any part size.
- *Plain JSON lines* are split by byte range (:class:`~olmo_core.documents.DocumentRange`): a part seeks to
  its start, leaves the line straddling it to the part before, and reads on through the line that straddles its
  end, so every byte is parsed once, and a file is read once in all.
- *Compressed JSON lines* (``.gz``, ``.zst``) cannot be entered in the middle: a part decompresses from the
  start and passes over the lines before its range without parsing them. The content size that sets the part
  count is the one the file declares (gzip's trailer, a zstd frame header) or, where it declares none, four
  times the compressed size; a gzip trailer's size (modulo 4 GiB) is believed only where deflate could hold it in
  the file (at least its size, at most 1,032 times it: the trailer of a truncated file is any 4 bytes). A wrong
  guess only makes parts uneven (the last part reads to the end). The decompression repeated by later parts
  (about 0.2 s of CPU per 100 MB passed over, next to minutes to tag 100 MB) grows with the square of a file's
  part count; it is the price of a format that cannot seek.
- *Parquet* files are one part each.
- *Line numbers* stay the file's: a part numbers its lines from 1 and counts them, and the job shifts a part's
  quarantine records by the lines of the parts before it (:func:`~olmo_core.documents.renumbered`); within a
  worker, a document's ``line`` counts from its part's first line.
- *Memory stays bounded*: a part of a split file writes its output rows to a temporary file (:func:`part_file`,
  in the run's :func:`scratch_folder` beside the outputs), and the job's parent writes the final file from the
  parts' rows, in order, through :func:`~olmo_core.io.open_atomic`, compressing once, with the same writes as one
  process would make, so the bytes are the same as a file written whole (gzip members compressed separately
  would not be; ISA-L's gzip bytes even depend on how the writes are cut). A file of one
  part is written by its worker directly, as before.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import gc
import itertools
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from fsspec.core import url_to_fs
from fsspec.utils import infer_compression
from olmo_core.documents import PARQUET_SUFFIXES, Document, DocumentRange, Quarantined, read_documents, renumbered
from olmo_core.errors import ConfigError
from olmo_core.io import claimed, is_local, open_atomic
from olmo_core.logs import forwarding_logs, log_to_parent
from olmo_core.progress import Progress

__all__ = ["PART_BYTES", "Part", "counted", "die_with_parent", "join_part_files", "joined_quarantine", "map_parts",
           "map_shards", "part_file", "parts_with_documents_before", "per_file", "read_counted", "remove_part_files",
           "resolve_workers", "return_freed_memory", "scratch_folder", "split_file"]

PART_BYTES = 32 << 20
"""The content of a file that one part holds (32 MiB): larger files are split (:func:`split_file`)."""
GUESSED_COMPRESSION_RATIO = 4
"""Content bytes per compressed byte, for a compressed file that does not declare its content size."""
MAX_DEFLATE_RATIO = 1032
"""The most content bytes per compressed byte that deflate (gzip) can hold: a larger declared size is not believed."""

_PR_SET_PDEATHSIG = 1
T = TypeVar("T")
R = TypeVar("R")
POLL_SECONDS = 0.2
AHEAD = 4
"""Shards per worker submitted ahead of the one whose result is awaited: the results not yet taken that
:func:`map_shards` holds (a job's memory would otherwise grow with every shard's result held at once)."""
_advance: Callable[[int], None] | None = None  # where this process counts the documents it has read


def resolve_workers(workers: int, shards: int) -> int:
    """``workers`` (0 means one per CPU core), never more than there are shards."""
    if workers < 0:
        raise ConfigError(f"workers must be 0 (one per CPU core) or more, not {workers}")
    count = workers or os.cpu_count() or 1
    return max(1, min(count, shards))


def map_shards(function: Callable[[T], R], shards: Sequence[T], *, workers: int,
               progress: Callable[[int], None] | None = None) -> Iterator[R]:
    """``function`` over ``shards`` with up to ``workers`` processes, yielding results in shard order. At most
    :data:`AHEAD` shards per worker are submitted beyond the result awaited, and a result is let go once taken.

    ``progress`` receives the documents that ``function`` counts with :func:`read_counted` as they are read, in
    this process or, from workers, through a shared counter polled while results are awaited."""
    global _advance
    count = resolve_workers(workers, len(shards))
    if count == 1:
        previous, _advance = _advance, progress
        try:
            yield from (_then_return_memory(function, shard) for shard in shards)
        finally:
            _advance = previous
        return
    methods = multiprocessing.get_all_start_methods()
    context: Any = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    counter, seen = context.Value("q", 0), 0

    def poll() -> None:
        nonlocal seen
        if progress is not None and (now := counter.value) > seen:
            progress(now - seen)
            seen = now

    _libc()  # found once here, not by every worker (find_library runs ldconfig)
    with forwarding_logs(context) as logs, frozen_heap(), ProcessPoolExecutor(
            max_workers=count, mp_context=context, initializer=_start_worker,
            initargs=(os.getpid(), counter, logs)) as pool:
        waiting = iter(shards)
        futures = deque(pool.submit(_then_return_memory, function, shard)
                        for shard in itertools.islice(waiting, AHEAD * count))
        try:
            while futures:
                future = futures.popleft()
                while not wait([future], timeout=POLL_SECONDS).done:
                    poll()
                poll()
                result = future.result()
                del future
                for shard in itertools.islice(waiting, 1):
                    futures.append(pool.submit(_then_return_memory, function, shard))
                yield result
                del result
        finally:
            for future in futures:
                future.cancel()


def read_counted(file: str) -> Iterator[Document | Quarantined]:
    """:func:`~olmo_core.documents.read_documents`, each record counted toward the ``progress`` of the
    :func:`map_shards` that runs this once the caller is done with it."""
    return counted(read_documents(file))


def counted(records: Iterable[R]) -> Iterator[R]:
    """``records``, each counted toward the ``progress`` of the :func:`map_shards` (or :func:`map_parts`) that
    runs this once the caller is done with it."""
    for item in records:
        yield item
        if _advance is not None:
            _advance(1)


@dataclass(frozen=True)
class Part:
    """Part ``index`` of the ``count`` parts of ``file``: the lines that start in bytes ``[start, end)`` of its
    content (``end=None``: to the end). A file of one part is the whole file."""

    file: str
    index: int = 0
    count: int = 1
    start: int = 0
    end: int | None = None

    @property
    def whole(self) -> bool:
        """Whether this part is its whole file."""
        return self.count == 1

    @property
    def last(self) -> bool:
        """Whether this part is its file's last (a whole file's only part is)."""
        return self.index == self.count - 1

    def records(self) -> Iterable[Document | Quarantined]:
        """The part's records: :func:`~olmo_core.documents.read_documents` of a whole file, else a
        :class:`~olmo_core.documents.DocumentRange` (its lines numbered from 1; it counts them as it is read)."""
        return read_documents(self.file) if self.whole else DocumentRange(self.file, self.start, self.end)


def split_file(file: str, part_bytes: int = PART_BYTES) -> list[Part]:
    """The parts of ``file``: one per ``part_bytes`` of its content (at least one); Parquet files are one part."""
    if part_bytes < 1:
        raise ConfigError(f"part_bytes must be 1 or more, not {part_bytes}")
    if file.endswith(PARQUET_SUFFIXES):
        return [Part(file)]
    try:
        size = _content_size(file)
    except OSError:  # unreadable: read whole, the reader quarantines what it cannot read
        return [Part(file)]
    count = max(1, -(-size // part_bytes))
    if count == 1:
        return [Part(file)]
    return [Part(file, i, count, i * part_bytes, None if i == count - 1 else (i + 1) * part_bytes)
            for i in range(count)]


def _content_size(file: str) -> int:
    """The size of ``file``'s content: its size, or for a compressed file the size it declares, else a guess."""
    fs, path = url_to_fs(file)
    size = fs.size(path)
    compression = infer_compression(path)
    if compression is None:
        return size
    guessed = size * GUESSED_COMPRESSION_RATIO
    if compression == "gzip" and size >= 18:  # ISIZE: the last member's size mod 2**32
        return _gzip_content_size(int.from_bytes(fs.cat_file(path, start=size - 4, end=size), "little"), size, guessed)
    declared = _zstd_content_size(fs.cat_file(path, start=0, end=min(size, 18))) if compression == "zstd" else -1
    return declared if declared >= size else guessed


def _gzip_content_size(isize: int, size: int, guessed: int) -> int:
    """The content size of a gzip file of ``size`` bytes whose trailer says ``isize``, else ``guessed``: ``isize``
    is the last member's size modulo 2**32 (not the content's size for a file of several members or of 4 GiB or
    more of content), and a truncated or damaged file ends in any 4 bytes, so it is believed only where deflate
    could hold it in ``size`` bytes (from ``size`` to :data:`MAX_DEFLATE_RATIO` times as much)."""
    return isize if size <= isize <= MAX_DEFLATE_RATIO * size else guessed


def _zstd_content_size(header: bytes) -> int:
    """The content size a zstd frame header declares, or -1."""
    try:
        import zstandard
    except ImportError:
        return -1
    try:
        return zstandard.frame_content_size(header)
    except zstandard.ZstdError:
        return -1


def map_parts(function: Callable[[Part], R], files: Sequence[str], *, workers: int, part_bytes: int = PART_BYTES,
              progress: Callable[[int], None] | None = None) -> Iterator[tuple[str, list[R]]]:
    """``function`` over the parts of ``files`` (:func:`split_file`) with up to ``workers`` processes, yielding
    each file with its parts' results in order, file after file; ``progress`` as for :func:`map_shards`."""
    parts = [part for file in files for part in split_file(file, part_bytes)]
    for part, results in per_file(parts, map_shards(function, parts, workers=workers, progress=progress)):
        yield part.file, results


def per_file(tasks: Sequence[T], results: Iterable[R], part_of: Callable[[T], Part] = lambda task: task) \
        -> Iterator[tuple[T, list[R]]]:
    """The results of ``tasks`` (one each, in order), a file's parts together: each file's last task with its
    parts' results in order. ``part_of`` gives a task's :class:`Part` (the task itself by default)."""
    gathered: list[R] = []
    for task, result in zip(tasks, results, strict=True):
        gathered.append(result)
        if part_of(task).last:
            yield task, gathered
            gathered = []


def _documents_in(part: Part) -> int:
    """The valid documents of ``part``."""
    return sum(isinstance(item, Document) for item in part.records())


def parts_with_documents_before(files: Sequence[str], *, workers: int, part_bytes: int = PART_BYTES) \
        -> list[tuple[Part, int]]:
    """Every part of ``files`` (:func:`split_file`), in order, with the valid documents of its file before it:
    where its rows start in the file's attribute files (one row per valid document). The parts of a split file
    but its last are read once for this, in ``workers`` processes."""
    split = {file: parts for file in files if len(parts := split_file(file, part_bytes)) > 1}
    counting = [part for parts in split.values() for part in parts[:-1]]
    documents: dict[Part, int] = {}
    if counting:
        with Progress("counting the documents of the large files' parts", unit="parts", total=len(counting)) as bar:
            for part, found in zip(counting, map_shards(_documents_in, counting, workers=workers), strict=True):
                documents[part] = found
                bar.advance(1)
    found_parts = []
    for file in files:
        before = 0
        for part in split.get(file, [Part(file)]):
            found_parts.append((part, before))
            before += documents.get(part, 0)
    return found_parts


@contextlib.contextmanager
def scratch_folder(root: str) -> Iterator[str]:
    """A folder for the parts' temporary files (:func:`part_file`) while the block runs, removed after: inside
    ``root`` on the local disk, named as olmo's temporaries and claimed (:func:`~olmo_core.io.claimed`) while the
    block runs, so that another run's :func:`~olmo_core.io.remove_temporaries` over ``root`` leaves it alone and
    the next run removes one that a killed run left; elsewhere a folder in the system's temporary directory."""
    fs, path = url_to_fs(root)
    if not is_local(fs):
        with tempfile.TemporaryDirectory(prefix="olmo-parts-") as folder:
            yield folder
        return
    os.makedirs(path, exist_ok=True)
    folder = Path(path) / f".parts.tmp-{uuid.uuid4().hex[:12]}"
    try:
        with claimed(folder, folder=True):
            yield str(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def part_file(folder: str) -> str:
    """A new name in ``folder`` (a :func:`scratch_folder`) for a part's temporary file."""
    return os.path.join(folder, uuid.uuid4().hex)


def join_part_files(url: str, paths: Sequence[str]) -> None:
    """Write ``url`` (through :func:`~olmo_core.io.open_atomic`, compressed as its suffix says) from the rows of
    a split file's parts' temporary files (:func:`part_file`), in order: the same writes, hence the same bytes,
    as one process writing the whole file makes."""
    with open_atomic(url, "wt", compression="infer", encoding="utf-8") as output:
        for path in paths:
            with open(path, encoding="utf-8", newline="\n") as rows:  # rows, one write each
                for row in rows:
                    output.write(row)


def joined_quarantine(parts: Iterable[tuple[Iterable[Quarantined], int]]) -> list[Quarantined]:
    """The quarantined records of a split file's parts, each given with its part's lines, numbered in the file
    (:func:`~olmo_core.documents.renumbered`)."""
    joined: list[Quarantined] = []
    before = 0
    for quarantined, lines in parts:
        joined += [renumbered(q, before) for q in quarantined]
        before += lines
    return joined


def remove_part_files(paths: Iterable[str]) -> None:
    """Remove parts' temporary files (those already gone are no error)."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the objects that exist now out of the garbage collector's reach while the block runs (:func:`gc.freeze`):
    a forked worker's full collection would otherwise walk everything it inherited, writing to (hence copying) its
    pages, though none of it becomes garbage there (about 35 ms a worker when tagging). A heap frozen before the
    block (``olmo``'s start-up, :mod:`olmo_core.cli.collector`) stays frozen after it."""
    thaw = gc.get_freeze_count() == 0
    gc.freeze()
    try:
        yield
    finally:
        if thaw:
            gc.unfreeze()


@functools.cache
def _libc() -> Any:
    """The C library (``None`` where it cannot be loaded)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None


def _then_return_memory(function: Callable[[T], R], shard: T) -> R:
    """``function(shard)`` in a worker, then :func:`return_freed_memory`: a worker's footprint stays that of one
    task, however many it runs."""
    try:
        return function(shard)
    finally:
        return_freed_memory()


def return_freed_memory() -> None:
    """Give the pages that the C heap has freed back to the system (glibc's ``malloc_trim``; nothing elsewhere).

    Native libraries that allocate from many threads (the ``tokenizers`` backend encodes a batch on every core)
    leave freed memory in glibc's per-thread arenas, which it keeps: without this, a worker's resident memory grows
    with every file it has handled (tokenizing 4x the built-in corpus: 243 MiB after a trim, 758 MiB without)."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


def _start_worker(parent: int, counter: Any, logs: tuple[Any, int]) -> None:
    global _advance
    die_with_parent(parent)
    log_to_parent(*logs)

    def advance(n: int) -> None:
        with counter.get_lock():
            counter.value += n

    _advance = advance


def die_with_parent(parent: int) -> None:
    """Make this worker process end when ``parent`` does, even when it is killed (SIGKILL leaves no orphans):
    Linux delivers SIGKILL to it then; elsewhere a daemon thread polls for the parent every second."""
    try:
        armed = _libc().prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) == 0
    except (OSError, AttributeError, TypeError):
        armed = False
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch, args=(parent,), daemon=True, name="olmo-parent-watch").start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)
