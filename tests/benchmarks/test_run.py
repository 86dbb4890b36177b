"""benchmarks/run.py, the table of every side-by-side benchmark: its choice of benchmarks is checked up front."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"


def test_an_unknown_benchmark_is_a_usage_error_listing_the_benchmarks() -> None:
    done = subprocess.run([sys.executable, str(RUN), "--only", "data,trian"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2 and done.stdout == ""  # nothing ran
    assert done.stderr.splitlines()[-1] == (
        "run.py: error: --only: unknown benchmark 'trian'; the benchmarks are data, memory, dedup, scaling, dolma, "
        "train, eval, adapt, olmo_core")
