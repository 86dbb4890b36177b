"""Progress on long work: a tqdm bar on stderr on a terminal, a log line every half minute elsewhere."""

from __future__ import annotations

import logging
import time
from typing import Any, TextIO

from tqdm import tqdm

__all__ = ["Progress", "duration"]

log = logging.getLogger(__name__)


class Progress(tqdm):  # type: ignore[type-arg]
    """A tqdm bar counting ``unit`` (with a percentage when ``total`` is known); :meth:`advance` adds to it.

    Writes to ``stream`` (stderr when ``None``); shown only when that stream is a terminal, unless
    ``disable=False``. Without a bar (a batch job's log, ``nohup``), the count is logged every ``log_every``
    seconds instead, so long work is never silent.
    """

    def __init__(self, description: str, *, total: int | None = None, unit: str = "items",
                 stream: TextIO | None = None, log_every: float = 30.0, **kwargs: Any) -> None:
        kwargs.setdefault("disable", None)
        super().__init__(desc=description, total=total, unit=f" {unit}", file=stream, dynamic_ncols=True, **kwargs)
        self.counted, self.log_every, self.started = 0, log_every, time.monotonic()
        self.logged_at, self.what = self.started, (description, total, unit)

    def advance(self, n: int = 1, *, postfix: str = "") -> None:
        """Add ``n`` to the count, with ``postfix`` shown after it."""
        if postfix:
            self.set_postfix_str(postfix, refresh=False)
        self.postfix_text = postfix
        self.update(n)

    def update(self, n: float | None = 1) -> bool | None:
        """tqdm's ``update``; without a bar, also logs the count when ``log_every`` seconds have passed."""
        shown = super().update(n)
        self.counted += n or 0
        now = time.monotonic()
        if self.disable and now - self.logged_at >= self.log_every:
            self.logged_at = now
            description, total, unit = self.what
            postfix = getattr(self, "postfix_text", "")
            rate = self.counted / max(now - self.started, 1e-9)
            left = f", {duration((total - self.counted) / rate)} left" if total and 0 < self.counted < total else ""
            log.info("%s: %s%s %s (%s/s%s)%s", description, f"{self.counted:,}", f" of {total:,}" if total else "",
                     unit, f"{rate:.0f}" if rate >= 10 else f"{rate:.2g}", left, f" [{postfix}]" if postfix else "")
        return shown


def duration(seconds: float) -> str:
    """``seconds`` as a person reads a wait: ``40 s``, ``12 min``, ``2.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
