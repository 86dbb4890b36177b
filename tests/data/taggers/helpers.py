"""Shared helpers of the tagger tests: document-level values and real Python source files."""

from __future__ import annotations

import sysconfig
from pathlib import Path
from typing import Any

from olmo_data.taggers.base import Attributes


def doc_values(attributes: Attributes, length: int) -> dict[str, Any]:
    """The value of every document-level attribute (one span over the whole text)."""
    return {k: v[0][2] for k, v in attributes.items() if len(v) == 1 and v[0][:2] == [0, length]}


def python_files(count: int, max_chars: int = 20_000) -> list[tuple[str, str]]:
    """``count`` standard-library modules (top level, sorted by name, at most ``max_chars`` long)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    found = []
    for path in sorted(root.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if 2_000 < len(text) <= max_chars:
            found.append((path.name, text))
        if len(found) == count:
            break
    return found


def prose_docstrings() -> list[str]:
    """Standard-library docstrings that are plain English prose, a few hundred words each."""
    import sched
    import subprocess
    import threading
    import unittest
    import argparse

    return [str(obj.__doc__).strip() for obj in (sched, subprocess.run, threading.BoundedSemaphore,
                                                 unittest.TestCase, argparse.Action)]
