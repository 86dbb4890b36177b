"""From task instances to rows: tokenization, context sharing and truncation.

A request is encoded as lm-evaluation-harness encodes it: the context's trailing whitespace moves onto the
continuation, context and continuation are encoded together, and the continuation's tokens are those of the
whole string's after the first ``len(encode(context))``. Encoding the continuation on its own would be wrong
for SentencePiece-style tokenizers (a Metaspace pre-tokenizer starts every encoded text with a word-start
``▁``); with the OLMo tokenizer the two agree on every request of the built-in tasks. An empty (or
all-whitespace) context is the EOS token, with the continuation encoded alone. Requests with the same context
tokens form a group whose context is computed once; identical (context, continuation) requests are scored
once. A group's context is cut from the left so that its longest input fits ``max_length`` tokens.
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
    """Tokenize ``(context, continuation)`` pairs jointly (see the module docstring); each distinct string is
    encoded once, all in one parallel batch."""
    split = [_move_whitespace(context, continuation) for context, continuation in pairs]
    strings = list(dict.fromkeys(s for context, continuation in split
                                 for s in ((context, context + continuation) if context else (continuation,))))
    ids = dict(zip(strings, tokenizer.encode_batch(strings)))
    requests = []
    for (given_context, given_continuation), (context, continuation) in zip(pairs, split):
        ctx = ids[context] if context else []
        cont = tuple(ids[context + continuation][len(ctx):])
        if not cont:
            raise ValueError(f"continuation {given_continuation!r} (after context {given_context[-60:]!r}) "
                             "has no tokens")
        requests.append(Request(tuple(ctx) or (tokenizer.eos_token_id,), cont))
    return requests


def _move_whitespace(context: str, continuation: str) -> tuple[str, str]:
    """``(context, continuation)`` with the context's trailing whitespace moved to the continuation's start."""
    stripped = context.rstrip()
    return stripped, context[len(stripped):] + continuation


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
