"""Peak memory of ``olmo data tag`` and ``olmo data tokenize`` on one long real-text document.

The document (50 MB by default) joins the texts of the built-in sources, in turn, until it is long enough;
a short document (the first of moby-dick) follows it, so that tag has a document to tag. Each command runs
in a process of its own; its peak resident memory (``ru_maxrss`` from ``wait4``) is compared with the 1 GB
target. ``tag`` runs twice: with ``language`` and ``gopher_repetition``, whose rules need the whole text at
once (the document is over their ``max_document_bytes`` and is quarantined), and with ``pii``, ``badwords``,
``c4`` and ``gopher_quality``, which tag it in full (``gopher_quality`` in windows). ``tokenize`` encodes it
in pieces. Each command also reports its wall and CPU seconds (this process's and the waited-for child's) with its
threads pinned to ``--threads`` (the environment it inherits); they are shown, not judged: this benchmark has no
peer, and its ratio is one of memory.

    uv run python benchmarks/data/long_document.py [--megabytes 50] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from olmo_core.plugins import get_host

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from timing import Timing, available_cores, describe_threads, measure, pin_threads

SOURCES = ("moby-dick", "wikipedia", "wikipedia-fr", "c4", "spam-assassin", "bible", "sotu", "shakespeare", "milton")
TARGET_BYTES = 10**9
RUNS = {
    "tag (language, gopher_repetition)": ["data", "tag", "taggers=[language,gopher_repetition]"],
    "tag (pii, badwords, c4, gopher_quality)": ["data", "tag", "taggers=[pii,badwords,c4,gopher_quality]"],
    "tokenize (olmo-v1.5)": ["data", "tokenize"],
}


def long_text(texts: list[str], size: int) -> str:
    """Real text of at least ``size`` UTF-8 bytes: ``texts``, over and over."""
    pieces, total = [], 0
    while total < size:
        for text in texts:
            pieces.append(text)
            total += len(text.encode()) + 2
            if total >= size:
                break
    return "\n\n".join(pieces)


def peak_rss(args: list[str]) -> tuple[int, Timing, str]:
    """Peak resident bytes, the :class:`Timing` and output of ``olmo <args>`` run in a process of its own."""
    with measure() as timing:
        proc = subprocess.Popen([sys.executable, "-m", "olmo_core", *args], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        output = proc.stdout.read() if proc.stdout else ""
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"olmo {' '.join(args)} failed ({proc.returncode}):\n{output}")
    return usage.ru_maxrss * 1024, timing, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=float, default=50, help="size of the document (MB of UTF-8 text)")
    parser.add_argument("--threads", type=int, default=available_cores(),
                        help="threads of each command (its inherited environment; default: %(default)s)")
    args = parser.parse_args()
    threads = pin_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        registry = get_host().registry("sources")
        texts = [d.text for name in SOURCES for d in registry.build({"_name_": name}).documents()]
        text = long_text(texts, int(args.megabytes * 1e6))
        size = len(text.encode())
        documents = Path(tmp) / "ds" / "documents"
        documents.mkdir(parents=True)
        records = [{"id": "long", "source": "sources", "text": text}, {"id": "short", "source": "sources",
                                                                        "text": texts[0]}]
        (documents / "long.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        del text, records
        print(f"one document of {size / 1e6:.1f} MB from {', '.join(SOURCES)}; threads pinned: "
              f"{describe_threads(threads)}; judged by peak memory (times are shown, not judged)\n")
        print("| command | peak memory | target | within | wall s | CPU s | outcome |\n|---|---|---|---|---|---|---|")
        peaks = {}
        for label, command in RUNS.items():
            output = [f"output={tmp}/tokens"] if command[1] == "tokenize" else []
            peak, timing, _ = peak_rss([*command, f"input={tmp}/ds", *output])
            peaks[label] = peak
            reports = Path(tmp) / ("tokens/tokenize.json" if command[1] == "tokenize" else "ds/reports/tag.json")
            report = json.loads(reports.read_text())
            outcome = (f"{report['tokens']:,} tokens" if command[1] == "tokenize" else
                       f"{report['documents']} tagged, quarantined: {report['quarantine_reasons'] or 0}")
            print(f"| {label} | {peak / 1e6:,.0f} MB | {TARGET_BYTES / 1e6:,.0f} MB | "
                  f"{'yes' if peak <= TARGET_BYTES else 'NO'} | {timing.wall:.1f} | {timing.cpu:.1f} | {outcome} |",
                  flush=True)
    worst = max(peaks.values())
    print("RESULT " + json.dumps({"benchmark": f"data: peak memory on one {size / 1e6:.0f} MB document",
                                  "judged_by": "memory", "ratio": round(TARGET_BYTES / worst, 2),
                                  "ratio_wall": None, "ratio_cpu": None, "threads": f"{args.threads} (pinned)",
                                  "target": ">= 1x (peak <= 1 GB)",
                                  "agreement": f"worst peak {worst / 1e6:,.0f} MB", "ok": worst <= TARGET_BYTES}))


if __name__ == "__main__":
    main()
