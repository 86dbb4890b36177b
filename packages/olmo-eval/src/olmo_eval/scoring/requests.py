"""From task instances to rows: tokenization, context sharing and truncation.

Contexts and continuations are encoded separately, as OLMo's in-loop evaluation does (with the OLMo
tokenizer this equals lm-evaluation-harness's joint encoding on every request of the nine tasks); an empty
context is the EOS token. Requests with the same context tokens form a group whose context is computed once;
identical (context, continuation) requests are scored once. A group's context is cut from the left so that
its longest input fits ``max_length`` tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from olmo_core.tokenizer import Tokenizer

from olmo_eval.scoring.rows import Row

__all__ = ["Request", "build_rows", "encode_requests"]


@dataclass(slots=True)
class Request:
    """One (context, continuation) pair, tokenized."""

    context: tuple[int, ...]
    continuation: tuple[int, ...]


def encode_requests(pairs: Sequence[tuple[str, str]], tokenizer: Tokenizer) -> list[Request]:
    """Tokenize ``(context, continuation)`` pairs (each distinct string once, in parallel)."""
    strings = list(dict.fromkeys(s for pair in pairs for s in pair))
    ids = dict(zip(strings, tokenizer.encode_batch(strings)))
    requests = []
    for context, continuation in pairs:
        ctx = tuple(ids[context]) or (tokenizer.eos_token_id,)
        cont = tuple(ids[continuation])
        if not cont:
            raise ValueError(f"continuation {continuation!r} (after context {context[-60:]!r}) has no tokens")
        requests.append(Request(ctx, cont))
    return requests


def build_rows(requests: Sequence[Request], *, max_length: int, shared_prefix: bool = True,
               max_row_tokens: int = 4096) -> tuple[list[Row], list[tuple[int, int]]]:
    """Rows that score every distinct request, and for each request ``(row index, first target index)``.

    With ``shared_prefix`` a row holds a context and as many of its continuations as fit in
    ``max_row_tokens``; without it, a row is one request's ``context + continuation[:-1]``.
    """
    groups: dict[tuple[int, ...], list[tuple[int, ...]]] = {}
    for request in requests:
        conts = groups.setdefault(request.context, [])
        if request.continuation not in conts:
            conts.append(request.continuation)
    rows: list[Row] = []
    where: dict[tuple[tuple[int, ...], tuple[int, ...]], tuple[int, int]] = {}
    for context, continuations in groups.items():
        chunks = _chunks(continuations, len(context), max_row_tokens) if shared_prefix else [[c] for c in continuations]
        for chunk in chunks:
            longest = max(len(c) for c in chunk)
            ctx = list(context[-max(1, max_length - longest + 1):])
            row = Row.causal(ctx)
            for cont in chunk:
                start = row.add_segment(cont[:-1], len(ctx)) if shared_prefix else _append(row, cont[:-1])
                where[(context, cont)] = (len(rows), len(row.targets))
                row.predictors.extend([len(ctx) - 1, *range(start, start + len(cont) - 1)])
                row.targets.extend(cont)
            rows.append(row)
    return rows, [where[(r.context, r.continuation)] for r in requests]


def _append(row: Row, tokens: Sequence[int]) -> int:
    start = len(row.tokens)
    row.tokens.extend(tokens)
    row.positions.extend(range(start, start + len(tokens)))
    row.segments.extend([0] * len(tokens))
    return start


def _chunks(continuations: list[tuple[int, ...]], context_len: int, budget: int) -> list[list[tuple[int, ...]]]:
    chunks: list[list[tuple[int, ...]]] = [[]]
    size = context_len
    for cont in continuations:
        if chunks[-1] and size + len(cont) - 1 > budget:
            chunks.append([])
            size = context_len
        chunks[-1].append(cont)
        size += len(cont) - 1
    return chunks
