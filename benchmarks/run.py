"""Every side-by-side benchmark in one go, and one markdown table of ratios.

Each benchmark runs in a process of its own (so that it owns the machine's cores and its peak memory is its
own) and ends its output with a line ``RESULT {json}`` holding ``benchmark``, ``judged_by`` (the clock, ``wall``
or ``cpu``, or what else its ratio measures), ``ratio`` (the judged ratio, olmo's over the peer's), ``ratio_wall``
and ``ratio_cpu`` (both clocks' ratios; null where the ratio is not a speed), ``threads`` (the pinned thread counts
of the sides), ``target`` (the ratio it aims at), ``agreement`` (what it checks the peer agrees on) and ``ok``. The
table goes to stdout and to ``benchmarks/results.md``.

    uv run --group bench python benchmarks/run.py [--only train,data] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

BENCHMARKS = {
    "data": (["data/filters.py"], ["--limit", "300"]),
    "memory": (["data/long_document.py"], ["--megabytes", "5"]),
    "dedup": (["data/dedup_partitions.py"], ["--copies", "2", "--files", "8"]),
    "scaling": (["data/scaling.py"], ["--scales", "1,2", "--files", "2"]),
    "dolma": (["data/dolma_compare.py"], ["--limit", "100", "--copies", "4"]),
    "train": (["train/transformers_speed.py"], ["--steps", "4", "--rounds", "1"]),
    "eval": (["eval/downstream.py"], ["--limit", "20"]),
    "adapt": (["adapt/trl_compare.py"], []),
    "olmo_core": (["train/olmo_core_speed.py"], ["--steps", "4", "--warmup", "1"]),
}
"""name -> (script under benchmarks/, extra arguments of a ``--quick`` run)."""


def run(name: str, quick: bool) -> dict[str, object]:
    (script,), quick_args = BENCHMARKS[name]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, str(HERE / script), *(quick_args if quick else [])],
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    sys.stdout.write(proc.stdout)
    results = [json.loads(line.removeprefix("RESULT ")) for line in proc.stdout.splitlines()
               if line.startswith("RESULT ")]
    if proc.returncode or not results:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no RESULT line"]
        return {"benchmark": name, "ok": False, "error": tail[0], "seconds": seconds}
    return {**results[-1], "seconds": seconds}


def _ratio(value: object) -> str:
    return "-" if value is None else f"{value}x"


def table(rows: list[dict[str, object]]) -> str:
    """One markdown row per benchmark: the judged ratio and the clock judging it, both clocks' ratios, threads."""
    columns = ["benchmark", "judged by", "ratio (olmo / peer)", "wall ratio", "CPU ratio", "threads", "target",
               "agreement", "ok", "seconds"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        if "error" in r:
            cells = [str(r["benchmark"]), *["-"] * 7, f"failed: {r['error']}", f"{r['seconds']:.0f}"]
            lines.append("| " + " | ".join(cells) + " |")
            continue
        lines.append(f"| {r['benchmark']} | {r.get('judged_by', '-')} | {_ratio(r.get('ratio'))} | "
                     f"{_ratio(r.get('ratio_wall'))} | {_ratio(r.get('ratio_cpu'))} | {r.get('threads', '-')} | "
                     f"{r.get('target', '-')} | {r.get('agreement', '-')} | {'yes' if r.get('ok') else 'no'} | "
                     f"{r['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated: " + ", ".join(BENCHMARKS))
    parser.add_argument("--quick", action="store_true", help="smaller inputs: a check that everything runs")
    args = parser.parse_args()
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    if unknown := [name for name in names if name not in BENCHMARKS]:
        parser.error(f"--only: unknown benchmark {', '.join(map(repr, unknown))}; the benchmarks are "
                     f"{', '.join(BENCHMARKS)}")
    rows = [run(name, args.quick) for name in names]
    text = table(rows)
    (HERE / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
