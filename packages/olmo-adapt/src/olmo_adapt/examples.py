"""Checking conversations and counting the ones skipped, by reason.

Like a datatrove step, every method's data preparation keeps a :class:`Skips` tally: a conversation that cannot
be trained on is dropped with one of the reasons below, never silently.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from olmo_core.chat_template import ROLES

__all__ = ["EMPTY", "NOT_TEXT", "NO_ASSISTANT", "NOTHING_TRAINED", "TOO_LONG", "UNKNOWN_ROLE", "Skips",
           "check_messages"]

NO_ASSISTANT = "no assistant turn"
EMPTY = "empty content"
NOT_TEXT = "content is not text"
UNKNOWN_ROLE = "unknown role"
TOO_LONG = "longer than max_length"
NOTHING_TRAINED = "no trained token left after truncation"


class Skips:
    """How many examples were kept and how many were skipped for each reason."""

    def __init__(self) -> None:
        self.kept = 0
        self.reasons: Counter[str] = Counter()

    def skip(self, reason: str) -> None:
        """Count one skipped example."""
        self.reasons[reason] += 1

    def keep(self) -> None:
        """Count one kept example."""
        self.kept += 1

    @property
    def total(self) -> int:
        """Examples seen."""
        return self.kept + sum(self.reasons.values())

    def as_dict(self) -> dict[str, Any]:
        """``{"kept": n, "skipped": {reason: n}}``."""
        return {"kept": self.kept, "skipped": dict(sorted(self.reasons.items()))}

    def summary(self) -> str:
        """One line: kept of total, and each reason with its count."""
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(self.reasons.items()))
        return f"kept {self.kept} of {self.total}" + (f"; skipped {reasons}" if reasons else "")

    def __repr__(self) -> str:
        return json.dumps(self.as_dict())


def check_messages(messages: Sequence[dict[str, Any]]) -> str | None:
    """Why ``messages`` cannot be trained on (a reason above), or ``None`` when it can."""
    if any(m.get("role") not in ROLES for m in messages):
        return UNKNOWN_ROLE
    if any(m.get("content") is not None and not isinstance(m["content"], str) for m in messages):
        return NOT_TEXT
    if any(not (m.get("content") or "").strip() for m in messages):
        return EMPTY
    if not any(m["role"] == "assistant" for m in messages):
        return NO_ASSISTANT
    return None
