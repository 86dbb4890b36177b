"""Rule-based taggers' shared output: each rule's value and verdict, the overall verdict and its reason.

A rule tagger writes, for every rule, two document-level attributes: ``<rule>`` (the measured value) and
``<rule>_pass`` (1 if the document passes the rule, else 0). It also writes ``keep`` (1 if every rule
passes) and ``reason``: ``[[0, len(text), "<name of the first failing rule>"]]``, with no span when the
document is kept. Reasons are the names datatrove gives its filters' verdicts (``gopher_short_doc``,
``dup_line_frac``, ``curly_bracket`` ...), checked in datatrove's order, so a mixer can keep or drop
documents with ``keep`` and select them by cause with ``reason``, for example in JSONPath
``$.attributes[?(@.exp__gopher_quality__reason[0][2] == "gopher_short_doc")]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from olmo_data.taggers.base import Attributes, round_score

__all__ = ["Check", "check_attributes", "ratio"]


@dataclass(frozen=True, slots=True)
class Check:
    """One rule applied to one document."""

    name: str
    """Attribute name of the value; the verdict is ``<name>_pass``."""
    value: float
    """What the rule measured (integers stay integers)."""
    passed: bool
    """Whether the document passes the rule (a rule that is turned off always passes)."""
    reason: str
    """The reason recorded when this is the first rule the document fails."""


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, or 0.0 when the denominator is 0."""
    return numerator / denominator if denominator else 0.0


def check_attributes(length: int, checks: list[Check]) -> Attributes:
    """Document-level attributes for ``checks``: values, ``_pass`` verdicts, ``keep`` and ``reason``."""
    attributes: Attributes = {}
    reason = ""
    for check in checks:
        value = check.value if isinstance(check.value, int) else round_score(check.value)
        attributes[check.name] = [[0, length, value]]
        attributes[f"{check.name}_pass"] = [[0, length, int(check.passed)]]
        if not check.passed and not reason:
            reason = check.reason
    attributes["keep"] = [[0, length, int(not reason)]]
    attributes["reason"] = [[0, length, reason]] if reason else []
    return attributes
