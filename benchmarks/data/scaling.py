"""Per-document cost and peak memory of the curation steps as the corpus grows: 1x, 4x, 16x the built-in one.

The corpus is the built-in sources' real documents replicated ``scale`` times, every copy made distinct (see
``dedup_partitions.py``, whose corpus this is), in ``--files`` files per copy. Each step runs in a process of
its own with ``--workers`` processes: ``tag`` (Gopher quality and repetition, C4, PII), ``dedup`` (exact and
MinHash, features then decide) and ``tokenize``. For each step and scale: wall seconds, CPU seconds (the
process and its waited-for workers, from ``wait4``), CPU microseconds per document and peak memory (the
largest ``ru_maxrss`` among the step's process and its workers, as ``wait4`` reports it). A step scales when
its CPU per document at the largest scale is within 1.25x of the smallest scale's and its peak memory within
1.5x: the ratio judged is the worst of those quotients against its bound (at least 1 meets it).

    uv run python benchmarks/data/scaling.py [--scales 1,4,16] [--files 4] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dedup_partitions import run_olmo, write_corpus  # the same replicated real corpus, the same measure

STEPS = {
    "tag": lambda ds, out, w: ["data", "tag", f"input={ds}", "taggers=[gopher_quality,gopher_repetition,c4,pii]",
                               f"workers={w}"],
    "dedup": lambda ds, out, w: ["data", "dedup", f"input={ds}", "dedupers=[exact,minhash]", f"workers={w}"],
    "tokenize": lambda ds, out, w: ["data", "tokenize", f"input={ds}", f"output={out}", f"workers={w}"],
}
"""Step name -> the ``olmo`` arguments that run it on a dataset (with an output folder, with workers)."""
COST_BOUND, MEMORY_BOUND = 1.25, 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default="1,4,16", help="copies of the built-in corpus (default: %(default)s)")
    parser.add_argument("--files", type=int, default=4, help="files per copy (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="processes per step (default: %(default)s)")
    args = parser.parse_args()
    scales = sorted(int(s) for s in args.scales.split(","))
    rows: dict[str, dict[int, tuple[float, float, int, int]]] = {step: {} for step in STEPS}
    print(f"steps with workers={args.workers}; CPU includes the workers'\n")
    print("| step | scale | documents | wall s | CPU s | CPU µs / document | peak memory |")
    print("|---|---|---|---|---|---|---|")
    for scale in scales:
        with tempfile.TemporaryDirectory() as tmp:
            dataset = Path(tmp) / "ds"
            documents = write_corpus(dataset, scale, args.files, distinct=True)
            for step, command in STEPS.items():
                wall, cpu, peak = run_olmo(command(dataset, Path(tmp) / "tokens", args.workers))
                rows[step][scale] = (wall, cpu, peak, documents)
                print(f"| {step} | {scale}x | {documents:,} | {wall:.1f} | {cpu:.1f} | {cpu / documents * 1e6:,.0f} | "
                      f"{peak / 2**20:,.0f} MiB |", flush=True)
    small, large = scales[0], scales[-1]
    quotients = {}
    for step, by_scale in rows.items():
        (_, cpu_s, peak_s, docs_s), (_, cpu_l, peak_l, docs_l) = by_scale[small], by_scale[large]
        cost = (cpu_l / docs_l) / (cpu_s / docs_s)
        memory = peak_l / peak_s
        quotients[step] = (cost, memory)
        print(f"{step}: {large}x against {small}x: CPU per document {cost:.2f}x (bound {COST_BOUND}x), peak memory "
              f"{memory:.2f}x (bound {MEMORY_BOUND}x)")
    ratio = min(min(COST_BOUND / cost, MEMORY_BOUND / memory) for cost, memory in quotients.values())
    print("RESULT " + json.dumps({
        "benchmark": f"data: curation cost per document and peak memory, {small}x to {large}x the built-in corpus",
        "ratio": round(ratio, 2), "judged_by": "scaling", "ratio_wall": None, "ratio_cpu": None,
        "threads": f"{args.workers} workers per step",
        "target": f">= 1x (CPU per document within {COST_BOUND}x, peak memory within {MEMORY_BOUND}x)",
        "agreement": "; ".join(f"{s} {c:.2f}x cost, {m:.2f}x memory" for s, (c, m) in quotients.items()),
        "ok": ratio >= 1}))


if __name__ == "__main__":
    main()
