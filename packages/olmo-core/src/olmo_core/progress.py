"""Progress on long work: a tqdm bar on stderr, shown only on a terminal."""

from __future__ import annotations

from typing import Any, TextIO

from tqdm import tqdm

__all__ = ["Progress"]


class Progress(tqdm):  # type: ignore[type-arg]
    """A tqdm bar counting ``unit`` (with a percentage when ``total`` is known); :meth:`advance` adds to it.

    Writes to ``stream`` (stderr when ``None``); shown only when that stream is a terminal, unless
    ``disable=False``.
    """

    def __init__(self, description: str, *, total: int | None = None, unit: str = "items",
                 stream: TextIO | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("disable", None)
        super().__init__(desc=description, total=total, unit=f" {unit}", file=stream, dynamic_ncols=True, **kwargs)

    def advance(self, n: int = 1, *, postfix: str = "") -> None:
        """Add ``n`` to the count, with ``postfix`` shown after it."""
        if postfix:
            self.set_postfix_str(postfix, refresh=False)
        self.update(n)
