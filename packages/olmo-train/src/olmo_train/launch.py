"""``launcher.nproc=N``: ``olmo train`` starts its own N workers on this machine, as torchrun would.

The command re-runs itself (``python -m olmo_core train <the same overrides>``) under torch's elastic agent,
which gives each worker ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``. When a
worker fails, the agent stops the others and the command fails with one message naming the rank that failed
and how (exit code, signal, or the error it recorded), instead of hanging.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from olmo_core.config import non_negative, positive
from olmo_core.errors import OlmoError

__all__ = ["LauncherConfig", "TrainingFailed", "describe_failures", "is_worker", "launch", "record_worker_error"]


@dataclass(kw_only=True)
class LauncherConfig:
    """Options of ``olmo train``'s own launcher (for several nodes use torchrun or Slurm instead)."""

    nproc: int = positive(1)
    """Worker processes to start on this machine (one per GPU); 1 trains in this process."""
    master_port: int = non_negative(0)
    """Port of the workers' rendezvous (0: a free one)."""


class TrainingFailed(OlmoError):
    """A training worker died or failed; the message names its rank."""


def is_worker() -> bool:
    """Whether this process is one rank of a launched job (torchrun, ``launcher.nproc``, Slurm)."""
    return "TORCHELASTIC_RUN_ID" in os.environ or "RANK" in os.environ


def _how(exitcode: int) -> str:
    if exitcode < 0:
        try:
            return f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"was killed by signal {-exitcode}"
    return f"exited with code {exitcode}"


def describe_failures(failures: dict[int, Any], world_size: int) -> str:
    """One message for the torch elastic failure records of a job (``{global rank: ProcessFailure}``).

    Ranks that died without recording an error (killed, ``os._exit``, a crash in native code) come first:
    the others usually failed because a collective lost them. Ranks killed by SIGTERM come after those, as
    that is how the launcher stops the survivors of a failure (timestamps are whole seconds and often tie).
    """
    def recorded(failure: Any) -> str | None:
        message = failure.message
        if isinstance(message, dict):
            text = message.get("message", "")
            return str(text).strip().splitlines()[0] if str(text).strip() else None
        return None

    def stopped(failure: Any) -> bool:
        return bool(failure.exitcode == -signal.SIGTERM)

    order = sorted(failures.items(), key=lambda item: (recorded(item[1]) is not None, stopped(item[1]),
                                                       item[1].timestamp, item[0]))
    parts = []
    for rank, failure in order:
        error = recorded(failure)
        reason = f"failed: {error}" if error else _how(failure.exitcode)
        parts.append(f"rank {rank} (local rank {failure.local_rank}, pid {failure.pid}) {reason}")
    first = order[0][0]
    return (f"training failed on rank {first} of {world_size}: " + "; ".join(parts)
            + "; the other ranks were stopped")


def launch(config: LauncherConfig, overrides: list[str]) -> None:
    """Run ``olmo train <overrides>`` in ``config.nproc`` workers here and wait for them."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    launch_config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=config.nproc, run_id=uuid.uuid4().hex,
                                 rdzv_backend="c10d", rdzv_endpoint=f"localhost:{config.master_port}",
                                 max_restarts=0, monitor_interval=0.1,
                                 signals_to_handle="SIGTERM,SIGHUP,SIGQUIT")  # SIGINT: ours, below
    with _ctrl_c_stops_the_workers_after_their_step():
        try:
            elastic_launch(launch_config, entrypoint=sys.executable)("-m", "olmo_core", "train", *overrides)
        except ChildFailedError as exc:
            raise TrainingFailed(describe_failures(exc.failures, config.nproc)) from None
        except SignalException as exc:
            if exc.sigval == signal.SIGINT:  # the workers saved their step and exited: the command was interrupted
                raise KeyboardInterrupt from None
            raise


_SHUTDOWN_LOGGERS = ("torch.distributed.elastic.agent.server.api", "torch.distributed.elastic.multiprocessing.api")
"""The torch elastic loggers that narrate a shutdown; an interrupted command says it was interrupted once."""


@contextlib.contextmanager
def _ctrl_c_stops_the_workers_after_their_step() -> Iterator[None]:
    """Ctrl-C stops the launcher's agent, which passes SIGINT on to the workers (in sessions of their own, they do
    not get the terminal's) and waits for them (torch elastic's shutdown timeout, 30 s, then kills them): they
    finish the step, save it and exit. Further SIGINTs here (``uv run`` passes the terminal's on too) are ignored,
    so that the agent waits for the workers instead of leaving them behind."""
    from torch.distributed.elastic.multiprocessing.api import SignalException

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping: list[bool] = []

    def interrupt(signum: int, frame: Any) -> None:
        if stopping:
            return
        stopping.append(True)
        for name in _SHUTDOWN_LOGGERS:  # "Received 2 death signal", "Sending process N closing signal SIGINT"
            logging.getLogger(name).setLevel(logging.ERROR)
        raise SignalException(f"Process {os.getpid()} got signal: {signum}", sigval=signal.Signals(signum))

    key = "TORCHELASTIC_SIGNALS_TO_HANDLE"  # the launcher sets it (from signals_to_handle): restored after
    saved = os.environ.get(key)
    levels = {name: logging.getLogger(name).level for name in _SHUTDOWN_LOGGERS}
    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        if saved is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = saved


def record_worker_error(exc: BaseException) -> None:
    """Leave ``exc`` (the exception being handled) where the launching agent reads it
    (``TORCHELASTIC_ERROR_FILE``), so that the job's failure message says what went wrong on this rank."""
    if "TORCHELASTIC_ERROR_FILE" not in os.environ:
        return
    from torch.distributed.elastic.multiprocessing.errors import ErrorHandler

    ErrorHandler().record_exception(exc)
