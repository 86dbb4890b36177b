"""Rows: what one forward pass scores, and the batching of rows by length under a token budget.

A row is a token sequence with a position and a segment per token. Segment 0 is visible to every later
token; tokens of segment ``j > 0`` see segment 0 and earlier tokens of their own segment only. That is how
one context is computed once for all its continuations: ``context | cont_1[:-1] | cont_2[:-1] | ...``, each
continuation placed at the positions right after the context. A row reads the log-probability of
``targets[i]`` from the distribution predicted at token index ``predictors[i]``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

__all__ = ["Row", "batches"]


@dataclass(slots=True)
class Row:
    """One sequence to run and the next-token log-probabilities to read from it."""

    tokens: list[int]
    positions: list[int]
    segments: list[int]
    predictors: list[int] = field(default_factory=list)
    """Index (in ``tokens``) of the token whose next-token distribution is read."""
    targets: list[int] = field(default_factory=list)
    """The token id read at the matching predictor."""

    @classmethod
    def causal(cls, tokens: Sequence[int]) -> Row:
        """A plain causal sequence (one segment, positions from 0)."""
        return cls(list(tokens), list(range(len(tokens))), [0] * len(tokens))

    def add_segment(self, tokens: Sequence[int], first_position: int) -> int:
        """Append a segment that follows segment 0 at ``first_position``; return its first index."""
        start = len(self.tokens)
        segment = max(self.segments, default=0) + 1
        self.tokens.extend(tokens)
        self.positions.extend(range(first_position, first_position + len(tokens)))
        self.segments.extend([segment] * len(tokens))
        return start

    @property
    def shared(self) -> bool:
        """Whether the row holds more than one segment (and needs the segment mask)."""
        return any(s != 0 for s in self.segments)


def batches(rows: Sequence[Row], *, batch_tokens: int, max_batch_size: int) -> Iterator[list[int]]:
    """Indices of ``rows`` in batches, longest rows first (ties by content, so the order is deterministic);
    a batch holds at most ``max_batch_size`` rows and ``batch_tokens`` tokens once padded to its longest."""
    order = sorted(range(len(rows)), key=lambda i: (-len(rows[i].tokens), rows[i].tokens))
    batch: list[int] = []
    longest = 0
    for index in order:
        size = len(rows[index].tokens)
        longest_then = max(longest, size)
        if batch and (len(batch) + 1 > max_batch_size or longest_then * (len(batch) + 1) > batch_tokens):
            yield batch
            batch, longest_then = [], size
        batch.append(index)
        longest = longest_then
    if batch:
        yield batch
