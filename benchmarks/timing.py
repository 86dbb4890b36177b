"""Wall-clock and CPU seconds of a benchmark's timed blocks, and the threads each side runs with.

Every benchmark times each side with :func:`measure` (or :func:`timed`), which takes both clocks:

* **wall seconds**: ``time.perf_counter``, what a user waits for;
* **CPU seconds**: user + system time of this process, summed over all its threads (``time.process_time``), plus
  that of its child processes which ended and were waited for within the block (``getrusage(RUSAGE_CHILDREN)``,
  which includes their own waited-for children). A side that keeps four threads busy for one wall second spends
  about four CPU seconds.

Before timing, a benchmark pins both sides to the same thread count with :func:`pin_threads` (torch's intra-op
threads and the ``OMP``/``MKL``/``OpenBLAS``/Rayon variables that child processes and later-loaded libraries read)
and prints :func:`thread_report`. A rate is work per wall second and per CPU second; :func:`ratios` gives both
ratios, olmo's over the peer's, and names the judged one: wall clock at equal pinned threads by default
(``--judge cpu`` to judge by CPU seconds).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["THREAD_VARIABLES", "Timing", "add_arguments", "available_cores", "cpu_seconds", "describe_threads",
           "measure", "median_rates", "pin_threads", "ratios", "side_table", "thread_report", "threads_note", "timed",
           "verdict_line"]

T = TypeVar("T")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS")
"""Environment variables that size the thread pools of OpenMP, MKL, OpenBLAS and Rust's Rayon (tokenizers)."""
CLOCKS = ("wall", "cpu")


def cpu_seconds() -> float:
    """User + system seconds of this process (all threads) and of its ended, waited-for child processes."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _torch() -> Any:
    """The torch module if this process has imported it, else None (timing never imports torch itself)."""
    return sys.modules.get("torch")


def _threads_now() -> int | None:
    torch = _torch()
    if torch is not None:
        return int(torch.get_num_threads())
    pinned = os.environ.get("OMP_NUM_THREADS")
    return int(pinned) if pinned and pinned.isdigit() else None


@dataclass
class Timing:
    """Seconds one block (or several, added up) took on the wall clock and on the CPU.

    ``threads`` is torch's intra-op thread count when the block ended (the ``OMP_NUM_THREADS`` pin where torch is
    not loaded), so a side that changed its threads inside the block shows it.
    """

    wall: float = 0.0
    cpu: float = 0.0
    threads: int | None = None

    def __add__(self, other: Timing) -> Timing:
        return Timing(self.wall + other.wall, self.cpu + other.cpu,
                      self.threads if other.threads is None else other.threads)

    def rates(self, count: float) -> dict[str, float]:
        """``count`` units of work per wall second and per CPU second: ``{"wall": ..., "cpu": ...}``."""
        return {"wall": count / self.wall if self.wall else float("inf"),
                "cpu": count / self.cpu if self.cpu else float("inf")}

    def as_dict(self) -> dict[str, Any]:
        """The seconds rounded for a report (``wall_seconds``, ``cpu_seconds``, ``threads``)."""
        return {"wall_seconds": round(self.wall, 4), "cpu_seconds": round(self.cpu, 4), "threads": self.threads}


@contextmanager
def measure() -> Iterator[Timing]:
    """Time the ``with`` block: the yielded :class:`Timing` holds its wall and CPU seconds once the block ends."""
    timing = Timing()
    wall, cpu = time.perf_counter(), cpu_seconds()
    try:
        yield timing
    finally:
        timing.wall = time.perf_counter() - wall
        timing.cpu = cpu_seconds() - cpu
        timing.threads = _threads_now()


def timed(function: Callable[[], T]) -> tuple[T, Timing]:
    """``function()``'s result and the :class:`Timing` of the call."""
    with measure() as timing:
        result = function()
    return result, timing


def available_cores() -> int:
    """The CPU cores this process may run on (its affinity mask where the platform has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def pin_threads(threads: int) -> dict[str, Any]:
    """Run this process, and the child processes it starts afterwards, with ``threads`` threads.

    Sets :data:`THREAD_VARIABLES` (read by child processes and by libraries loaded later, torch included) and, if
    torch is already imported, its intra-op threads (which also size MKL's and OpenMP's pools) and, where it is
    still allowed (before any inter-op work), its inter-op threads. Returns :func:`thread_report`.
    """
    if threads < 1:
        raise ValueError(f"threads must be at least 1, not {threads}")
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # already set, or inter-op work already started: reported as it is
            pass
    return thread_report()


def thread_report() -> dict[str, Any]:
    """The thread settings in force: the environment variables, and torch's thread counts if it is loaded."""
    report: dict[str, Any] = {name: os.environ.get(name) for name in THREAD_VARIABLES}
    torch = _torch()
    if torch is not None:
        report["torch"] = torch.get_num_threads()
        report["torch_interop"] = torch.get_num_interop_threads()
    return report


def describe_threads(report: dict[str, Any]) -> str:
    """One line for a :func:`thread_report`: ``torch 2 (inter-op 2), OMP_NUM_THREADS=2, ...``."""
    parts = [f"torch {report['torch']} (inter-op {report['torch_interop']})"] if "torch" in report else []
    parts += [f"{name}={report[name]}" for name in THREAD_VARIABLES if report.get(name) is not None]
    return ", ".join(parts) or "not pinned"


def add_arguments(parser: argparse.ArgumentParser, threads: int | None = None) -> None:
    """``--threads`` (both sides; default: the cores available, or ``threads``) and ``--judge wall|cpu``."""
    parser.add_argument("--threads", type=int, default=threads or available_cores(),
                        help="threads of each side, pinned the same for both (default: %(default)s)")
    parser.add_argument("--judge", choices=CLOCKS, default="wall",
                        help="the clock whose ratio decides the verdict (default: wall, at equal pinned threads)")


def ratios(ours: dict[str, float], theirs: dict[str, float], judge: str) -> dict[str, Any]:
    """olmo's rates over the peer's (:meth:`Timing.rates` of each): ``ratio_wall``, ``ratio_cpu``, ``judged_by``
    and ``ratio`` (the judged one), rounded to two decimals."""
    if judge not in CLOCKS:
        raise ValueError(f"judge must be one of {CLOCKS}, not {judge!r}")
    both = {f"ratio_{clock}": round(ours[clock] / theirs[clock], 2) for clock in CLOCKS}
    return {"judged_by": judge, "ratio": both[f"ratio_{judge}"], **both}


def median_rates(runs: Iterable[dict[str, float]]) -> dict[str, float]:
    """The median of several runs' rates, per clock."""
    runs = list(runs)
    return {clock: statistics.median(run[clock] for run in runs) for clock in CLOCKS}


def side_table(sides: dict[str, tuple[Timing, float]], unit: str) -> str:
    """A markdown table, one row per side (name -> its :class:`Timing` and the units of work done): threads, wall
    and CPU seconds, CPU seconds per wall second, and the rates per wall and per CPU second."""
    lines = [f"| side | threads | wall s | CPU s | CPU/wall | {unit}/wall s | {unit}/CPU s |",
             "|---|---|---|---|---|---|---|"]
    for name, (timing, count) in sides.items():
        rate = timing.rates(count)
        busy = timing.cpu / timing.wall if timing.wall else float("nan")
        lines.append(f"| {name} | {timing.threads if timing.threads is not None else '-'} | {timing.wall:.3f} | "
                     f"{timing.cpu:.3f} | {busy:.2f} | {_rate(rate['wall'])} | {_rate(rate['cpu'])} |")
    return "\n".join(lines)


def _rate(value: float) -> str:
    """A rate with one decimal from 100 up, else three significant digits (0.0123, 4.56, 78.9)."""
    return f"{value:,.1f}" if value >= 100 else f"{value:.3g}"


def threads_note(sides: dict[str, Timing]) -> str:
    """``2 threads on every side`` or, where the sides ran with different counts, each side's (``NOT equal``)."""
    counts = {name: timing.threads for name, timing in sides.items()}
    if len(set(counts.values())) == 1:
        return f"{next(iter(counts.values()))} threads on every side"
    return "threads NOT equal: " + ", ".join(f"{name} {count}" for name, count in counts.items())


def verdict_line(ours: str, peer: str, result: dict[str, Any], unit: str) -> str:
    """``judged by wall clock: olmo / peer = 2.10x <unit> per wall second (CPU: 1.90x)``."""
    judged, other = result["judged_by"], "cpu" if result["judged_by"] == "wall" else "wall"
    names = {"wall": "wall", "cpu": "CPU"}
    return (f"judged by {names[judged]} clock: {ours} / {peer} = {result['ratio']}x {unit} per {names[judged]} "
            f"second ({names[other]}: {result[f'ratio_{other}']}x)")
