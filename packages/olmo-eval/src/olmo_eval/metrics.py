"""Accuracies derived from per-choice records, every normalization from the same numbers.

A record holds, for one (document, choice): the continuation's summed log-likelihood ``ll`` (nats), its
``tokens``, ``chars`` and ``bytes`` (characters and UTF-8 bytes of the continuation without its leading
space, as OLMo's ``cont_str_len``/``cont_byte_len`` and lm-evaluation-harness's ``acc_norm``/``acc_bytes``
count them) and, when computed, ``ll_uncond``: the log-likelihood of the same continuation after the
unconditional prompt. A document's prediction is the first choice with the highest score:

============== =================================== ======================================================
metric         score of a choice                   known as
============== =================================== ======================================================
acc_raw        ``ll``                              OLMo ``acc``, Catwalk ``acc_raw``, lm-eval ``acc``
acc_per_token  ``ll / tokens``                     Catwalk ``acc_per_token``
acc_per_char   ``ll / chars``                      OLMo ``len_norm``, lm-eval ``acc_norm``
acc_per_byte   ``ll / bytes``                      lm-eval ``acc_bytes``
acc_uncond     ``ll - ll_uncond`` (PMI)            Catwalk ``acc_uncond``, lm-eval ``acc_mutual_info``
============== =================================== ======================================================

Chance is the mean over documents of ``1 / choices``. :func:`correct` gives each document's right/wrong, from
which :mod:`olmo_core.stats` gives an accuracy's standard error and the paired test of two models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import groupby
from typing import Any

__all__ = ["LOWER_IS_BETTER", "SCORES", "accuracies", "chance", "correct", "predictions"]

Record = Mapping[str, Any]

LOWER_IS_BETTER = frozenset({"toxic"})
"""Primary metrics for which a smaller figure is the better model (left out of averages of accuracies)."""


def _per(key: str) -> Callable[[Record], float]:
    return lambda r: r["ll"] / r[key] if r[key] else float("-inf")


SCORES: dict[str, Callable[[Record], float]] = {
    "acc_raw": lambda r: r["ll"], "acc_per_token": _per("tokens"), "acc_per_char": _per("chars"),
    "acc_per_byte": _per("bytes"), "acc_uncond": lambda r: r["ll"] - r["ll_uncond"]}
"""How each metric scores one choice."""


def _documents(records: Sequence[Record]) -> list[list[Record]]:
    ordered = sorted(records, key=lambda r: (r["doc_id"], r["choice"]))
    return [list(group) for _, group in groupby(ordered, key=lambda r: r["doc_id"])]


def predictions(records: Sequence[Record], metric: str) -> dict[int, int]:
    """Each document's predicted choice under ``metric`` (the first of equal best scores)."""
    score = SCORES[metric]
    out = {}
    for choices in _documents(records):
        scores = [score(r) for r in choices]
        out[choices[0]["doc_id"]] = scores.index(max(scores))
    return out


def correct(records: Sequence[Record], metric: str) -> dict[int, bool]:
    """Whether each document's prediction under ``metric`` is its gold choice."""
    gold = {r["doc_id"]: r["gold"] for r in records}
    return {doc: choice == gold[doc] for doc, choice in predictions(records, metric).items()}


def accuracies(records: Sequence[Record]) -> dict[str, float]:
    """Every metric that the records support (``acc_uncond`` only when they hold ``ll_uncond``), the mean of
    the accuracies of the records' groups (MMLU's subjects) where they name one."""
    documents = _documents(records)
    if not documents:
        return {}
    has_uncond = all("ll_uncond" in r for r in records)
    group = {r["doc_id"]: r.get("group", "") for r in records}
    out = {}
    for metric in SCORES:
        if metric != "acc_uncond" or has_uncond:
            groups: dict[str, list[bool]] = {}
            for doc, right in correct(records, metric).items():
                groups.setdefault(group[doc], []).append(right)
            out[metric] = sum(sum(rights) / len(rights) for rights in groups.values()) / len(groups)
    return out


def chance(records: Sequence[Record]) -> float:
    """The accuracy of guessing uniformly: the mean of ``1 / choices`` over documents."""
    documents = _documents(records)
    return sum(1 / len(choices) for choices in documents) / len(documents) if documents else 0.0
