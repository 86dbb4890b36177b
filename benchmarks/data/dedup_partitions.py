"""Peak memory of ``olmo data dedup phase=decide``: one job against N partition jobs (``partition=i/N``).

The corpus is the built-in sources' real documents, replicated ``--copies`` times (each copy under new ids, so
that every document after the first copy is an exact and a near duplicate, which one job does not index but
every partition job holds the keys of), in ``--files`` files per copy. With ``--distinct``, copy c appends c
letters ``q`` to every word instead, so that no copy repeats another and one job indexes every document. The
features phase runs once (not measured). Then, each in a process of its own, with ``exact`` and ``minhash``:

- ``base``: ``phase=decide`` over one file of the corpus alone: the interpreter, the imports and one file's
  features, which every deciding job holds whatever the corpus (the constant);
- ``single``: ``phase=decide`` over the whole corpus, as one job;
- ``partition i/N``: ``phase=decide partition=i/N``, for every i;
- ``resolve``: ``phase=resolve``, whose attribute files must equal the single job's byte for byte.

Peak memory is each process's ``ru_maxrss`` (from ``wait4``). The target for a partition job is
``base + (single - base) / N``: within 1/N of the single job's own memory plus the constant; the ratio is the target
over the worst partition's peak (at least 1 meets it). The resolve job's peak is shown, not judged.

    uv run python benchmarks/data/dedup_partitions.py [--copies 4] [--partitions 4] [--files 16] [--workers 2]
        [--distinct]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from olmo_core.plugins import get_host

SOURCES = ("c4", "wikipedia", "spam-assassin", "sotu", "moby-dick", "bible", "shakespeare", "milton")
DEDUPERS = "dedupers=[exact,minhash]"


def variant(text: str, copy: int) -> str:
    """``text`` with the words of each line shuffled (seeded by ``copy``; ``text`` itself for copy 0): a distinct
    text (new lines, new word shingles) of the same words and length, so that every copy costs what the first does."""
    if not copy:
        return text
    rng = random.Random(copy)
    lines = []
    for line in text.split("\n"):
        words = line.split()
        rng.shuffle(words)
        lines.append(" ".join(words))
    return "\n".join(lines)


def write_corpus(root: Path, copies: int, files: int, distinct: bool) -> int:
    """``root/documents/c<copy>-<part>.jsonl``: the sources' documents, ``copies`` times; return the count."""
    registry = get_host().registry("sources")
    documents = [d for name in SOURCES for d in registry.build({"_name_": name, "held_out": "include"}).documents()]
    (root / "documents").mkdir(parents=True)
    for c in range(copies):
        for part in range(files):
            rows = [{"id": f"{c}-{d.id}", "source": d.source, "text": variant(d.text, c) if distinct else d.text}
                    for d in documents[part::files]]
            (root / "documents" / f"c{c}-{part:03d}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return copies * len(documents)


def run_olmo(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and peak resident bytes of ``olmo <args>`` run in a process of its own (its
    waited-for workers' CPU and peak included, as ``wait4`` reports them)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "olmo_core", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    output = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"olmo {' '.join(args)} failed:\n{output}")
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, peak


def attributes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "attributes").rglob("*")) if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=4, help="copies of the built-in corpus (default: %(default)s)")
    parser.add_argument("--partitions", type=int, default=4, help="N partition jobs (default: %(default)s)")
    parser.add_argument("--files", type=int, default=16, help="files per copy (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="processes of the features phase (default: "
                                                              "%(default)s; the deciding jobs read with one)")
    parser.add_argument("--distinct", action="store_true", help="make every copy distinct (see above)")
    args = parser.parse_args()
    count = args.partitions
    with tempfile.TemporaryDirectory() as tmp:
        dataset, one = Path(tmp) / "ds", Path(tmp) / "one"
        documents = write_corpus(dataset, args.copies, args.files, args.distinct)
        (one / "documents").mkdir(parents=True)
        shutil.copy(next(iter(sorted((dataset / "documents").iterdir()))), one / "documents")
        start = time.perf_counter()
        for root in (dataset, one):
            run_olmo(["data", "dedup", f"input={root}", DEDUPERS, "phase=features", f"workers={args.workers}"])
        print(f"{documents:,} documents ({args.copies} {'distinct ' if args.distinct else ''}copies of "
              f"{', '.join(SOURCES)}) in "
              f"{args.copies * args.files} files; features computed in {time.perf_counter() - start:.0f}s\n")
        decide = ["data", "dedup", DEDUPERS, "phase=decide", "workers=1"]
        runs = {"base (one file)": [*decide, f"input={one}"], "single": [*decide, f"input={dataset}"]}
        runs |= {f"partition {i}/{count}": [*decide, f"input={dataset}", f"partition={i}/{count}"]
                 for i in range(count)}
        runs["resolve"] = ["data", "dedup", DEDUPERS, "phase=resolve", "workers=1", f"input={dataset}"]
        peaks, single_attributes = {}, {}
        print("| job | peak memory | wall s |\n|---|---|---|")
        for label, command in runs.items():
            if label == "resolve":
                single_attributes = attributes(dataset)
                shutil.rmtree(dataset / "attributes")
            seconds, _, peaks[label] = run_olmo(command)
            print(f"| {label} | {peaks[label] / 2**20:,.0f} MiB | {seconds:.1f} |", flush=True)
        identical = attributes(dataset) == single_attributes
    base, single = peaks["base (one file)"], peaks["single"]
    target = base + (single - base) / count
    worst = max(peak for label, peak in peaks.items() if label.startswith("partition"))
    print(f"\nconstant (base) {base / 2**20:,.0f} MiB; single job {single / 2**20:,.0f} MiB, "
          f"{(single - base) / 2**20:,.0f} MiB above the constant; target per partition job: base + that / {count} = "
          f"{target / 2**20:,.0f} MiB; worst partition job {worst / 2**20:,.0f} MiB "
          f"({(worst - base) / 2**20:,.0f} MiB above the constant, {(worst - base) / (single - base):.2f}x the "
          f"single job's); resolve {peaks['resolve'] / 2**20:,.0f} MiB; resolve's attributes equal the single "
          f"job's: {'yes' if identical else 'NO'}")
    ok = worst <= target and identical
    corpus = f"{args.copies} {'distinct ' if args.distinct else ''}copies"
    print("RESULT " + json.dumps({"benchmark": f"data: dedup decide memory per job, {count} partitions, {corpus}",
                                  "judged_by": "memory", "ratio": round(target / worst, 2), "ratio_wall": None,
                                  "ratio_cpu": None, "threads": "1 per deciding job",
                                  "target": f">= 1x (each partition's peak <= constant + single's above it / {count})",
                                  "agreement": f"worst partition {worst / 2**20:,.0f} MiB, single "
                                               f"{single / 2**20:,.0f} MiB, constant {base / 2**20:,.0f} MiB; "
                                               f"resolve output {'identical' if identical else 'DIFFERS'}",
                                  "ok": ok}))


if __name__ == "__main__":
    main()
