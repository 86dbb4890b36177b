"""Entry point of the ``olmo`` command: dispatch, user errors as one line, exit codes."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from olmo_core.cli.arguments import parse_command_line
from olmo_core.cli.collector import frozen_to_the_end, paused_during_start_up
from olmo_core.cli.help import print_command_help, print_group_help, print_main_help
from olmo_core.cli.runner import run_command
from olmo_core.errors import OlmoError
from olmo_core.logs import setup_logging
from olmo_core.plugins import get_host, keeping_broken_plugins
from olmo_core.version import __version__

__all__ = ["invoke", "main"]

# After numpy loads, each of OpenBLAS's threads spins for about 2**28 cycles (0.1 CPU s) before it sleeps, in every
# olmo process, though no command runs numpy's BLAS in a loop where waking a sleeping thread would show: they sleep
# at once (OpenBLAS reads this when numpy loads, which plugins do later; a value the user set is kept).
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")


def invoke(argv: Sequence[str]) -> list[Any]:
    """Run the ``olmo`` command line ``argv`` (without the program name) and return each job's result.

    Raises :class:`~olmo_core.errors.OlmoError` for user errors; :func:`main` turns them into one line. The
    main help and ``olmo plugins`` work with broken plugins installed, and list them.
    """
    args = list(argv)
    lenient = not args or args[0] in ("-h", "--help", "help", "--version", "plugins")
    with keeping_broken_plugins() if lenient else contextlib.nullcontext(), paused_during_start_up():
        return _invoke(args)


def _invoke(args: list[str]) -> list[Any]:
    if not args or args[0] in ("-h", "--help", "help"):
        print_main_help(get_host())
        return []
    if args[0] == "--version":
        print(f"olmo {__version__}")
        return []
    line = parse_command_line(args, get_host())
    if line.command is None:
        print_group_help(get_host(), line.group)
        return []
    if line.help:
        print_command_help(get_host(), line.command, line.overrides)
        return []
    setup_logging(plugins=get_host().plugin_packages())
    return run_command(line.command, line.overrides, multirun=line.multirun, hydra_flags=line.hydra_flags)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``olmo`` and return its exit status; ``OLMO_FULL_ERROR=1`` shows tracebacks of errors. Without
    ``argv``, the process's own command line runs, as the process's last work (:func:`frozen_to_the_end`)."""
    if argv is None:
        frozen_to_the_end()
    full = os.environ.get("OLMO_FULL_ERROR", "") not in ("", "0")
    try:
        invoke(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
    except OlmoError as exc:
        if full:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        # the process only exits from here on: another Ctrl-C (uv run passes one on too) would interrupt the
        # clean-up at exit (a progress bar's __del__) and print a traceback
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if isinstance(exc, BrokenPipeError) and _stdout_closed():  # the reader went away (`olmo --help | head -1`):
            with contextlib.suppress(OSError, ValueError):  # stop quietly, as Unix tools do
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the flush at exit is quiet too
            return 141  # 128 + SIGPIPE, what a shell reports for a tool the signal ended
        if full:
            raise
        print(f"error: {type(exc).__name__}: {exc} (OLMO_FULL_ERROR=1 shows the traceback)", file=sys.stderr)
        return 1
    return 0


def _stdout_closed() -> bool:
    """Whether stdout is a pipe or socket that its reader has closed (a flush of what is left fails, or the
    system reports the error)."""
    try:
        sys.stdout.flush()
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poll.poll(0))
    except BrokenPipeError:
        return True
    except (AttributeError, OSError, ValueError):
        return False
