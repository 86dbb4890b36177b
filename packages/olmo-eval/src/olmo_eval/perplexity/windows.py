"""Paloma's windows over one long document: non-overlapping targets, the last window extended leftward.

A document of ``n`` tokens ``t`` is scored as the stream ``s = [prefix] + t`` (the prefix, EOS, is context
only). Targets are cut into consecutive spans of ``length`` tokens; the span ``s[a:b]`` is predicted from the
inputs ``s[max(0, b - 1 - length) : b - 1]``, so every full window is conditioned on one earlier token only
(lm-evaluation-harness's ``get_rolling_token_windows`` with ``context_len=1``) and the final, shorter span
is read from a full-length window that reaches back into the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Window", "windows"]


@dataclass(frozen=True, slots=True)
class Window:
    """Inputs ``stream[start:end]``; the last ``targets`` inputs' next tokens are scored."""

    start: int
    end: int
    targets: int


def windows(num_tokens: int, length: int) -> list[Window]:
    """The windows that score each of a document's ``num_tokens`` tokens exactly once, at most ``length``
    inputs each (indices are into the stream with the prefix token at 0)."""
    if length < 1:
        raise ValueError(f"window length must be positive, not {length}")
    out = []
    first = 1
    while first <= num_tokens:
        last = min(first + length, num_tokens + 1)  # targets s[first:last]
        start = max(0, last - 1 - length)
        out.append(Window(start=start, end=last - 1, targets=last - first))
        first = last
    return out
