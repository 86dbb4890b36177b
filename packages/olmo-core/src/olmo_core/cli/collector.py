"""The garbage collector while ``olmo`` starts (paused, then resumed when the job starts) and at its exit.

Start-up (loading the plugins, composing the config) makes about a hundred thousand objects that live as long as
the process; the collections they set off walk them again and again, about 0.05-0.08 CPU s of a 0.5 s start-up.
With the collector paused until the job starts, and what start-up made then frozen (:func:`gc.freeze`), neither
start-up nor the job's own collections walk them. At exit, Python's full collections would walk them once more
(about 0.13 CPU s): the ``olmo`` process keeps them frozen to its end (:func:`frozen_to_the_end`), leaving them
to the operating system.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["frozen_to_the_end", "paused_during_start_up", "resume_for_the_job"]

_paused = False
_to_the_end = False


@contextlib.contextmanager
def paused_during_start_up() -> Iterator[None]:
    """Pause the collector from here to :func:`resume_for_the_job`; after the block the collector collects again,
    start-up's objects included unless :func:`frozen_to_the_end`. A collector already off (the caller's choice)
    is left alone."""
    global _paused
    if not gc.isenabled():
        yield
        return
    gc.disable()
    _paused = True
    try:
        yield
    finally:
        if not _paused and not _to_the_end:  # the job started: what it froze may be collected again
            gc.unfreeze()
        _paused = False
        gc.enable()


def resume_for_the_job() -> None:
    """Collect again, if start-up paused the collector, leaving the objects that exist now out of collections."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()


def frozen_to_the_end() -> None:
    """Keep what start-up made frozen until the process ends (for the ``olmo`` process's own command line), so that
    the interpreter's full collections at exit skip it. What the job makes is collected at exit as usual (the
    objects of extensions that check, at exit, that theirs were freed, as nanobind's do, included)."""
    global _to_the_end
    _to_the_end = True
