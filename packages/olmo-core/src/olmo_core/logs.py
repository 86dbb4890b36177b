"""Logging of olmo's packages: messages on stderr for the ``olmo`` command, and a log file per run directory.

Every module logs through ``logging.getLogger(__name__)``. The ``olmo`` command shows the ``olmo_*`` loggers'
records at ``OLMO_LOG_LEVEL`` (default ``INFO``; ``DEBUG`` shows more) on stderr, warnings and errors with a
prefix, above any tqdm bar; :func:`log_file` keeps them at ``INFO`` and above (``DEBUG`` when asked), with times
and levels, in ``log.txt`` of a job's or a pipeline's directory, whatever stderr shows. A command's result goes
to stdout and into ``log.txt`` (:func:`print_result`); worker processes send their records to the parent
(:func:`forwarding_logs`).
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any

from tqdm import tqdm

from olmo_core.errors import UsageError

__all__ = ["FILE_ONLY", "LOG_FILE", "PACKAGES", "forwarding_logs", "log_file", "log_to_parent", "print_result",
           "setup_logging"]

LOG_FILE = "log.txt"
PACKAGES = ("olmo_core", "olmo_data", "olmo_train", "olmo_eval", "olmo_adapt")
_shown: list[str] = list(PACKAGES)
"""The packages whose loggers olmo shows and keeps: its own, and the installed plugins' (:func:`setup_logging`)."""
FILE_ONLY = {"console": False}
"""``extra=`` of a record that ``log.txt`` keeps and stderr does not show (what stdout already shows)."""


class _Stderr(logging.Handler):
    """Writes to ``sys.stderr`` as it is at each record (pytest and others replace it), through ``tqdm.write`` so
    that a message never breaks a progress bar, each line with its line break in one write (processes that share
    the stream, a sweep's workers, then interleave whole lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "console", True) and super().filter(record)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record) + "\n", file=sys.stderr, end="")
        except Exception:
            self.handleError(record)


class _LogFile(logging.FileHandler):
    """``log.txt``: when a record cannot be written (a full disk), says so once on stderr and writes no more,
    instead of a traceback per record."""

    failed = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.failed:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        if not self.failed:
            self.failed = True
            error = sys.exc_info()[1]
            tqdm.write(f"warning: {self.baseFilename}: {getattr(error, 'strerror', None) or error}; the rest of this "
                       f"run is not kept in it\n", file=sys.stderr, end="")


class _Prefixed(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {text}"


def setup_logging(level: str | None = None, *, plugins: Iterable[str] = ()) -> None:
    """Show the records of the ``olmo_*`` loggers, and of the loggers of the packages ``plugins`` (those of the
    installed plugins, so that a plugin's ``logging.getLogger(__name__)`` speaks as olmo's own do), on stderr at
    ``level`` (default: ``OLMO_LOG_LEVEL`` or ``INFO``); the loggers pass ``INFO`` (or ``DEBUG``) on to ``log.txt``
    whatever the level.

    Idempotent; Hydra's own job logging is off (``hydra/job_logging=none``), so nothing else configures them.
    """
    level = (level or os.environ.get("OLMO_LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise UsageError(f"OLMO_LOG_LEVEL={level.lower()} is not a level: use DEBUG, INFO, WARNING or ERROR")
    _shown.extend(name for name in dict.fromkeys(plugins) if name not in _shown)
    for name in _shown:
        logger = logging.getLogger(name)
        logger.setLevel(min(logging.INFO, logging.getLevelName(level)))
        handler = next((h for h in logger.handlers if isinstance(h, _Stderr)), None)
        if handler is None:
            handler = _Stderr()
            handler.setFormatter(_Prefixed())
            logger.addHandler(handler)
        handler.setLevel(level)


def print_result(logger: logging.Logger, text: str) -> None:
    """Print what a command was asked for (a table of scores, a summary) on stdout, and keep it in ``log.txt``."""
    print(text)
    logger.info(text, extra=FILE_ONLY)


@contextlib.contextmanager
def log_file(directory: str) -> Iterator[None]:
    """Keep the ``olmo_*`` loggers' records in ``<directory>/log.txt`` (appended) while the block runs: ``INFO``
    and above (loggers set to a lower level are lowered to ``INFO`` for the block), ``DEBUG`` when asked.

    An exception that ends the block is logged there as an error. A directory on a remote filesystem (``s3://``)
    keeps none; one that already has a log open keeps that one.
    """
    path = os.path.abspath(os.path.join(directory.removeprefix("file://"), LOG_FILE))
    loggers = [logging.getLogger(name) for name in _shown]
    if "://" in directory.removeprefix("file://") or any(
            getattr(h, "baseFilename", None) == path for h in loggers[0].handlers):
        yield
        return
    handler = _LogFile(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(min(logging.INFO, logger.getEffectiveLevel()))
        logger.addHandler(handler)
    try:
        yield
    except Exception as exc:  # into the file only: the command reports it on stderr itself
        handler.handle(logging.makeLogRecord({"name": __name__, "levelno": logging.ERROR, "levelname": "ERROR",
                                              "msg": f"{type(exc).__name__}: {exc}"}))
        raise
    finally:
        for logger, level in zip(loggers, levels):
            logger.removeHandler(handler)
            logger.setLevel(level)
        with contextlib.suppress(OSError):  # a full disk: the run's own error says so, with its path
            handler.close()


class _Relay(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


@contextlib.contextmanager
def forwarding_logs(context: Any) -> Iterator[tuple[Any, int]]:
    """While the block runs, records that worker processes of the multiprocessing ``context`` send through
    :func:`log_to_parent` (given the yielded arguments) are handled here, by the logger of the same name."""
    queue = context.Queue()
    listener = logging.handlers.QueueListener(queue, _Relay())
    listener.start()
    try:
        yield queue, logging.getLogger(PACKAGES[0]).getEffectiveLevel()
    finally:
        listener.stop()


def log_to_parent(queue: Any, level: int) -> None:
    """In a worker process (forked or spawned): send the ``olmo_*`` loggers' records at ``level`` to the parent."""
    for name in _shown:
        logger = logging.getLogger(name)
        logger.handlers = [logging.handlers.QueueHandler(queue)]
        logger.setLevel(level)
        logger.propagate = False
