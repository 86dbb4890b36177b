"""Quality filtering, olmo against datatrove, on the same real documents in one run.

For every document, olmo's ``gopher_repetition``, ``gopher_quality`` and ``c4`` taggers compute their
attributes and the keep/drop decision follows from their ``keep`` attributes; datatrove's
``GopherRepetitionFilter``, ``GopherQualityFilter`` and ``C4QualityFilter`` each decide too. The benchmark
reports documents per CPU-second of each side, their ratio, and how often the decisions agree.

    uv run --group bench python benchmarks/data/filters.py [--limit N]
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from collections.abc import Callable
from typing import Any

from olmo_core.documents import Document
from olmo_core.plugins import get_host

SOURCES = {"c4": None, "spam-assassin": 2000, "wikipedia": 2000, "sotu": None, "moby-dick": None}
FILTERS = ("gopher_repetition", "gopher_quality", "c4")


def real_documents(limit: int | None) -> list[Document]:
    registry = get_host().registry("sources")
    documents = []
    for name, count in SOURCES.items():
        cap = min(count, limit) if count and limit else (count or limit)
        documents += list(registry.build({"_name_": name, "limit": cap}).documents())
    return documents


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    start = time.process_time()
    result = function()
    return result, time.process_time() - start


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
    args = parser.parse_args()
    documents = real_documents(args.limit)
    datatrove_decisions(documents[:5])  # load spaCy's tokenizer outside the timed run
    ours, ours_seconds = timed(lambda: olmo_decisions(documents))
    theirs, theirs_seconds = timed(lambda: datatrove_decisions(documents))
    n = len(documents)
    keep_ours = [all(ours[f][i] for f in FILTERS) for i in range(n)]
    keep_theirs = [all(theirs[f][i] for f in FILTERS) for i in range(n)]
    result = {
        "benchmark": "quality filters vs datatrove", "documents": n,
        "olmo_docs_per_second": round(n / ours_seconds, 1), "datatrove_docs_per_second": round(n / theirs_seconds, 1),
        "ratio": round(theirs_seconds / ours_seconds, 2),
        "agreement": round(sum(a == b for a, b in zip(keep_ours, keep_theirs, strict=True)) / n, 5),
        "agreement_per_filter": {f: round(sum(a == b for a, b in zip(ours[f], theirs[f], strict=True)) / n, 5)
                                 for f in FILTERS},
        "kept": {"olmo": sum(keep_ours), "datatrove": sum(keep_theirs)},
    }
    print(f"| documents | olmo docs/s | datatrove docs/s | ratio | keep/drop agreement |")
    print(f"|---|---|---|---|---|")
    print(f"| {n:,} | {result['olmo_docs_per_second']:,} | {result['datatrove_docs_per_second']:,} | "
          f"{result['ratio']}x | {result['agreement']:.2%} |")
    print(json.dumps(result, indent=2))
    ok = result["ratio"] >= 5 and result["agreement"] >= 0.97
    print("RESULT " + json.dumps({"benchmark": "data: quality filters vs datatrove", "ratio": result["ratio"],
                                  "target": ">= 5x", "agreement": f"{result['agreement']:.2%} keep/drop",
                                  "ok": ok}))
    return result


if __name__ == "__main__":
    main()
