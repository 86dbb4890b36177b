"""Quality filtering, olmo against datatrove, on the same real documents in one run.

For every document, olmo's ``gopher_repetition``, ``gopher_quality`` and ``c4`` taggers compute their
attributes and the keep/drop decision follows from their ``keep`` attributes; datatrove's
``GopherRepetitionFilter``, ``GopherQualityFilter`` and ``C4QualityFilter`` each decide too. The benchmark
reports each side's wall and CPU seconds (both sides pinned to ``--threads``; both are single-threaded Python),
documents per wall second and per CPU second, both ratios and the judged one (wall clock unless ``--judge cpu``),
and how often the decisions agree.

    uv run --group bench python benchmarks/data/filters.py [--limit N] [--threads N] [--judge wall|cpu]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from olmo_core.documents import Document
from olmo_core.plugins import get_host

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from timing import add_arguments, describe_threads, pin_threads, ratios, side_table, threads_note, timed, verdict_line

SOURCES = {"c4": None, "spam-assassin": 2000, "wikipedia": 2000, "sotu": None, "moby-dick": None}
FILTERS = ("gopher_repetition", "gopher_quality", "c4")


def real_documents(limit: int | None) -> list[Document]:
    registry = get_host().registry("sources")
    documents = []
    for name, count in SOURCES.items():
        cap = min(count, limit) if count and limit else (count or limit)
        documents += list(registry.build({"_name_": name, "limit": cap}).documents())
    return documents


def olmo_decisions(documents: list[Document]) -> dict[str, list[bool]]:
    registry = get_host().registry("taggers")
    taggers = {name: registry.build(name) for name in FILTERS}
    decisions: dict[str, list[bool]] = {name: [] for name in FILTERS}
    for document in documents:
        for name, tagger in taggers.items():
            decisions[name].append(tagger.tag(document)["keep"][0][2] == 1)
    return decisions


def datatrove_decisions(documents: list[Document]) -> dict[str, list[bool]]:
    from datatrove.data import Document as DatatroveDocument
    from datatrove.pipeline.filters import C4QualityFilter, GopherQualityFilter, GopherRepetitionFilter

    filters = {"gopher_repetition": GopherRepetitionFilter(), "gopher_quality": GopherQualityFilter(),
               "c4": C4QualityFilter()}
    decisions: dict[str, list[bool]] = {name: [] for name in FILTERS}
    for document in documents:
        for name, peer in filters.items():
            verdict = peer.filter(DatatroveDocument(text=copy.copy(document.text), id=document.id))
            decisions[name].append(verdict is True or (isinstance(verdict, tuple) and verdict[0] is True))
    return decisions


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="most documents per source")
    add_arguments(parser)
    args = parser.parse_args()
    threads = pin_threads(args.threads)
    documents = real_documents(args.limit)
    datatrove_decisions(documents[:5])  # load spaCy's tokenizer outside the timed run
    ours, ours_timing = timed(lambda: olmo_decisions(documents))
    theirs, theirs_timing = timed(lambda: datatrove_decisions(documents))
    n = len(documents)
    keep_ours = [all(ours[f][i] for f in FILTERS) for i in range(n)]
    keep_theirs = [all(theirs[f][i] for f in FILTERS) for i in range(n)]
    ours_rates, theirs_rates = ours_timing.rates(n), theirs_timing.rates(n)
    verdict = ratios(ours_rates, theirs_rates, args.judge)
    note = threads_note({"olmo": ours_timing, "datatrove": theirs_timing})
    result = {
        "benchmark": "quality filters vs datatrove", "documents": n, "threads": threads,
        "olmo": {**ours_timing.as_dict(), "docs_per_wall_second": round(ours_rates["wall"], 1),
                 "docs_per_cpu_second": round(ours_rates["cpu"], 1)},
        "datatrove": {**theirs_timing.as_dict(), "docs_per_wall_second": round(theirs_rates["wall"], 1),
                      "docs_per_cpu_second": round(theirs_rates["cpu"], 1)},
        **verdict,
        "agreement": round(sum(a == b for a, b in zip(keep_ours, keep_theirs, strict=True)) / n, 5),
        "agreement_per_filter": {f: round(sum(a == b for a, b in zip(ours[f], theirs[f], strict=True)) / n, 5)
                                 for f in FILTERS},
        "kept": {"olmo": sum(keep_ours), "datatrove": sum(keep_theirs)},
    }
    print(f"{n:,} documents; threads pinned: {describe_threads(threads)}; {note}")
    print(side_table({"olmo": (ours_timing, n), "datatrove": (theirs_timing, n)}, "docs"))
    print(f"{verdict_line('olmo', 'datatrove', verdict, 'documents')}; keep/drop agreement {result['agreement']:.2%}")
    print(json.dumps(result, indent=2))
    ok = result["ratio"] >= 5 and result["agreement"] >= 0.97
    print("RESULT " + json.dumps({"benchmark": "data: quality filters vs datatrove", **verdict,
                                  "threads": note, "target": f">= 5x ({args.judge})",
                                  "agreement": f"{result['agreement']:.2%} keep/drop", "ok": ok}))
    return result


if __name__ == "__main__":
    main()
