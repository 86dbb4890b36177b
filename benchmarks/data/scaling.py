"""Per-document cost and peak memory of the curation steps as the corpus grows: 1x, 4x, 16x the built-in one.

The corpus is the built-in sources' real documents replicated ``scale`` times, every copy made distinct (see
``dedup_partitions.py``, whose corpus this is), in ``--files`` files per copy. Each step runs in processes of
its own with ``--workers`` worker processes:

- ``tag``: Gopher quality and repetition, C4, PII;
- ``dedup``: exact and MinHash as docs/data.md runs them at scale: ``phase=features``, then the decide phase
  split over as many partition jobs as the corpus has copies (``phase=decide partition=i/N``, N = scale, one
  after another here; on a cluster they run at once), then ``phase=resolve``. Its CPU is the sum over the jobs,
  its peak memory the largest job's;
- ``tokenize``;
- ``dedup, one decide job`` (shown, not judged): the same dedupers deciding in one job, whose index holds every
  kept document's keys and so grows with the corpus (what the partitions are for; ``dedup_partitions.py``).

For each step and scale: wall seconds, CPU seconds (the processes and their waited-for workers, from
``wait4``), CPU microseconds per document and peak memory (the largest ``ru_maxrss`` among the step's
processes and their workers, as ``wait4`` reports it). A step scales when its CPU per document at the largest
scale is within 1.25x of the smallest scale's and its peak memory within 1.5x: the ratio judged is the worst of
those quotients against its bound over the judged steps (at least 1 meets it).

    uv run python benchmarks/data/scaling.py [--scales 1,4,16] [--files 4] [--workers 2]
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dedup_partitions import run_olmo, write_corpus  # the same replicated real corpus, the same measure

DEDUPERS = "dedupers=[exact,minhash]"


def partitioned_dedup(dataset: Path, scale: int, workers: int) -> list[list[str]]:
    """The dedup recipe for a large corpus: features, ``scale`` partition decide jobs, resolve."""
    dedup = ["data", "dedup", f"input={dataset}", DEDUPERS]
    return [[*dedup, "phase=features", f"workers={workers}"],
            *([*dedup, "phase=decide", f"partition={i}/{scale}", "workers=1"] for i in range(scale)),
            [*dedup, "phase=resolve", f"workers={workers}"]]


STEPS: dict[str, Callable[[Path, Path, int, int], list[list[str]]]] = {
    "tag": lambda ds, out, w, scale: [["data", "tag", f"input={ds}",
                                       "taggers=[gopher_quality,gopher_repetition,c4,pii]", f"workers={w}"]],
    "dedup": lambda ds, out, w, scale: partitioned_dedup(ds, scale, w),
    "tokenize": lambda ds, out, w, scale: [["data", "tokenize", f"input={ds}", f"output={out}", f"workers={w}"]],
    "dedup, one decide job": lambda ds, out, w, scale: [["data", "dedup", f"input={ds}", DEDUPERS,
                                                         f"workers={w}"]],
}
"""Step name -> the ``olmo`` commands that run it, one process each, on a dataset of its own (with an output
folder, workers and the corpus's scale)."""
JUDGED = ("tag", "dedup", "tokenize")
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
            corpus = Path(tmp) / "corpus"
            documents = write_corpus(corpus, scale, args.files, distinct=True)
            for n, (step, commands) in enumerate(STEPS.items()):
                dataset = Path(tmp) / f"ds{n}"
                shutil.copytree(corpus, dataset)
                runs = [run_olmo(command) for command in commands(dataset, Path(tmp) / "tokens", args.workers,
                                                                  scale)]
                wall, cpu, peak = (sum(r[0] for r in runs), sum(r[1] for r in runs), max(r[2] for r in runs))
                shutil.rmtree(dataset)
                rows[step][scale] = (wall, cpu, peak, documents)
                print(f"| {step} | {scale}x | {documents:,} | {wall:.1f} | {cpu:.1f} | {cpu / documents * 1e6:,.0f} | "
                      f"{peak / 2**20:,.0f} MiB |", flush=True)
    small, large = scales[0], scales[-1]
    quotients = {}
    for step in JUDGED + tuple(s for s in rows if s not in JUDGED):
        by_scale = rows[step]
        (_, cpu_s, peak_s, docs_s), (_, cpu_l, peak_l, docs_l) = by_scale[small], by_scale[large]
        cost = (cpu_l / docs_l) / (cpu_s / docs_s)
        memory = peak_l / peak_s
        quotients[step] = (cost, memory)
        print(f"{step}: {large}x against {small}x: CPU per document {cost:.2f}x (bound {COST_BOUND}x), peak memory "
              f"{memory:.2f}x (bound {MEMORY_BOUND}x)" + ("" if step in JUDGED else " (shown, not judged)"))
    ratio = min(min(COST_BOUND / cost, MEMORY_BOUND / memory) for step, (cost, memory) in quotients.items()
                if step in JUDGED)
    print("RESULT " + json.dumps({
        "benchmark": f"data: curation cost per document and peak memory, {small}x to {large}x the built-in corpus",
        "ratio": round(ratio, 2), "judged_by": "scaling", "ratio_wall": None, "ratio_cpu": None,
        "threads": f"{args.workers} workers per step",
        "target": f">= 1x (CPU per document within {COST_BOUND}x, peak memory within {MEMORY_BOUND}x)",
        "agreement": "; ".join(f"{s} {c:.2f}x cost, {m:.2f}x memory" for s, (c, m) in quotients.items()),
        "ok": ratio >= 1}))


if __name__ == "__main__":
    main()
