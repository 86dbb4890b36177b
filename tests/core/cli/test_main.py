"""``olmo`` as a process: output into a pipe that its reader closed."""

from __future__ import annotations

import os
import subprocess
import sys


def test_a_closed_pipe_ends_olmo_quietly() -> None:
    """``olmo --help | head -1``: once the reader is gone, olmo stops without a traceback or an error line."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "olmo_core", "--help"], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")
