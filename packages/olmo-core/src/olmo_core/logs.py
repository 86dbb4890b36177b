"""Logging of olmo's packages: messages on stderr for the ``olmo`` command, and a log file per run directory.

Every module logs through ``logging.getLogger(__name__)``. The ``olmo`` command shows the ``olmo_*`` loggers'
records at ``OLMO_LOG_LEVEL`` (default ``INFO``; ``DEBUG`` shows more) on stderr, warnings and errors with a
prefix; :func:`log_file` keeps them, with times and levels, in ``log.txt`` of a job's or a pipeline's directory.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator

from olmo_core.errors import UsageError

__all__ = ["LOG_FILE", "PACKAGES", "log_file", "setup_logging"]

LOG_FILE = "log.txt"
PACKAGES = ("olmo_core", "olmo_data", "olmo_train", "olmo_eval", "olmo_adapt")


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to ``sys.stderr`` as it is at each record (pytest and others replace it)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


class _Prefixed(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return text if record.levelno < logging.WARNING else f"{record.levelname.lower()}: {text}"


def setup_logging(level: str | None = None) -> None:
    """Show the ``olmo_*`` loggers' records on stderr at ``level`` (default: ``OLMO_LOG_LEVEL`` or ``INFO``).

    Idempotent; Hydra's own job logging is off (``hydra/job_logging=none``), so nothing else configures them.
    """
    level = (level or os.environ.get("OLMO_LOG_LEVEL") or "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise UsageError(f"OLMO_LOG_LEVEL={level.lower()} is not a level: use DEBUG, INFO, WARNING or ERROR")
    for name in PACKAGES:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(isinstance(h, _Stderr) for h in logger.handlers):
            handler = _Stderr()
            handler.setFormatter(_Prefixed())
            logger.addHandler(handler)


@contextlib.contextmanager
def log_file(directory: str) -> Iterator[None]:
    """Keep the ``olmo_*`` loggers' records in ``<directory>/log.txt`` (appended) while the block runs.

    An exception that ends the block is logged there as an error. A directory on a remote filesystem (``s3://``)
    keeps none; one that already has a log open keeps that one.
    """
    path = os.path.abspath(os.path.join(directory.removeprefix("file://"), LOG_FILE))
    loggers = [logging.getLogger(name) for name in PACKAGES]
    if "://" in directory.removeprefix("file://") or any(
            getattr(h, "baseFilename", None) == path for h in loggers[0].handlers):
        yield
        return
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    except Exception as exc:  # into the file only: the command reports it on stderr itself
        handler.handle(logging.makeLogRecord({"name": __name__, "levelno": logging.ERROR, "levelname": "ERROR",
                                              "msg": f"{type(exc).__name__}: {exc}"}))
        raise
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        handler.close()
