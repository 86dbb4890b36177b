"""Progress on long work: a live line on a terminal, a line every ``interval`` seconds otherwise."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Counts work done and shows it with the rate; use as a context manager and call :meth:`advance`.

    ``total`` (when known) adds a percentage. Output goes to ``stream`` (stderr by default).
    """

    def __init__(self, description: str, *, total: int | None = None, unit: str = "items",
                 stream: TextIO | None = None, interval: float = 10.0) -> None:
        self.description, self.total, self.unit = description, total, unit
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.interval = 0.1 if self.live else interval
        self.done = 0
        self._start = self._last = time.perf_counter()

    def __enter__(self) -> Progress:
        return self

    def advance(self, n: int = 1, *, postfix: str = "") -> None:
        """Add ``n`` to the count; redraw if enough time has passed."""
        self.done += n
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self._show(postfix, final=False)

    def _show(self, postfix: str, *, final: bool) -> None:
        elapsed = max(time.perf_counter() - self._start, 1e-9)
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        of = f"/{self.total}" if self.total else ""
        rate = self.done / elapsed
        shown = f"{rate:,.0f}" if rate >= 10 else f"{rate:.2f}"
        line = f"{self.description}: {self.done}{of} {self.unit}{share}, {shown} {self.unit}/s, {elapsed:.1f}s {postfix}".rstrip()
        if self.live:
            self.stream.write("\r\033[K" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.live or self.done:
            self._show("", final=True)
