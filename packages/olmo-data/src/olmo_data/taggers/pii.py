"""Personal information: e-mail addresses, phone numbers and IP addresses, found as exact spans.

Follows Dolma's regex tagger (``pii_regex_with_counts_fast_v2``) with its known misses fixed: an address at
the very end of a text is found (Dolma needs whitespace after it), and version strings (``version 1.2.3.4``,
``v10.0.0.1``, dotted numbers with more than four parts) are not taken for IP addresses. Spans cover the
personal information alone, so masking replaces exactly it with OLMo's placeholder tokens
(:data:`REPLACEMENTS`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from olmo_core.documents import Document

from olmo_data.taggers.base import Attributes

__all__ = ["REPLACEMENTS", "PiiConfig", "PiiTagger", "mask"]

REPLACEMENTS = {"EMAIL_ADDRESS": "|||EMAIL_ADDRESS|||", "PHONE_NUMBER": "|||PHONE_NUMBER|||",
                "IP_ADDRESS": "|||IP_ADDRESS|||"}
"""OLMo's placeholders, which are whole tokens of the OLMo tokenizer."""

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
PHONE = re.compile(r"(?<![\w.])(?:\+?1[-. ]?)?(?:\(\d{3}\)|\d{3})[-. ]?\d{3}[-. ]?\d{4}(?![\w]|\.\d)")
OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IP = re.compile(rf"(?<![\w.]){OCTET}(?:\.{OCTET}){{3}}(?![\w]|\.\d)")
IP_HINT = re.compile(r"\d\.\d+\.\d+\.\d")
"""Part of every IP address: a text without it has none, and the scan for :data:`IP` (slow, as it starts with a
lookbehind) is skipped."""
PHONE_HINT = re.compile(r"\d{3}[-. ]?\d{4}")
"""Part of every phone number (its last seven digits), likewise for :data:`PHONE`."""
NUMBERS = re.compile(r"\d[\d.\- ]{6,}")
"""Runs of digits, dots, dashes and spaces from a digit on: every hint above lies within one, so one scan for
them (then the hints in what it found) replaces a scan of the text for each hint."""
ASCII_NUMBERS = re.compile(NUMBERS.pattern, re.ASCII)
""":data:`NUMBERS` for an ASCII text (the same runs, found faster: a digit is then one byte-range test)."""
PHONE_START = re.compile(r"\d{3}\)?[-. ]?\d{3}[-. ]?\d{4}")
"""Part of every phone number (its digits from the area code on), at most 4 characters (``+1-(``) after its start:
:data:`PHONE` is scanned from 4 characters before the first one, as no phone number starts earlier."""
IP_START = re.compile(r"\d\.\d+\.\d+\.\d")
"""Part of every IP address, at most 2 characters after its start: :data:`IP` is scanned from there on."""
LOCAL_PART_CHAR = re.compile(r"[\w.+-]")
VERSION_BEFORE = re.compile(r"(?:\bversion|\bver\.?|\brelease|\bv)\s*$", re.IGNORECASE)
ISBN_BEFORE = re.compile(r"isbn[\s:-]*$", re.IGNORECASE)


@dataclass(kw_only=True)
class PiiConfig:
    """Options of the PII tagger."""

    emails: bool = True
    """Find e-mail addresses."""
    phones: bool = True
    """Find (North American style) phone numbers."""
    ips: bool = True
    """Find IPv4 addresses."""


class PiiTagger:
    """Spans ``EMAIL_ADDRESS``, ``PHONE_NUMBER`` and ``IP_ADDRESS`` (score 1.0), and ``doc_count``: how many."""

    def __init__(self, config: PiiConfig) -> None:
        self.config = config

    def tag(self, document: Document) -> Attributes:
        text = document.text
        found: Attributes = {"EMAIL_ADDRESS": [], "PHONE_NUMBER": [], "IP_ADDRESS": []}
        if self.config.emails and (at := text.find("@")) != -1:
            found["EMAIL_ADDRESS"] = [[m.start(), m.end(), 1.0] for m in _emails(text, at)]
        numbers = ((ASCII_NUMBERS if text.isascii() else NUMBERS).findall(text)
                   if self.config.ips or self.config.phones else [])
        if self.config.ips and any(map(IP_HINT.search, numbers)):
            start = max(0, IP_START.search(text).start() - 2)  # type: ignore[union-attr]
            found["IP_ADDRESS"] = [[m.start(), m.end(), 1.0] for m in IP.finditer(text, start)
                                   if not VERSION_BEFORE.search(text, max(0, m.start() - 12), m.start())]
        if self.config.phones and any(map(PHONE_HINT.search, numbers)) and (first := PHONE_START.search(text)):
            taken = [(s, e) for s, e, _ in found["IP_ADDRESS"]]
            found["PHONE_NUMBER"] = [[m.start(), m.end(), 1.0]
                                     for m in PHONE.finditer(text, max(0, first.start() - 4))
                                     if not ISBN_BEFORE.search(text, max(0, m.start() - 10), m.start())
                                     and not any(s <= m.start() < e for s, e in taken)]
        found["doc_count"] = [[0, len(text), sum(len(v) for v in found.values())]]
        return found


def _emails(text: str, at: int) -> Iterator[re.Match[str]]:
    """:data:`EMAIL`'s matches in ``text`` (``at``: its first ``@``), found from the ``@`` signs: an address
    starts where the run of local-part characters before its ``@`` starts (its lookbehind allows no other start),
    so each ``@`` has one possible start, tried unless an address found before reaches past it (then no address
    can start in that run: every position after the start follows a local-part character)."""
    end = 0
    while at != -1:
        start = _local_part_start(text, at)
        if start >= end and start < at and (match := EMAIL.match(text, start)):
            end = match.end()
            yield match
        at = text.find("@", at + 1)


def _local_part_start(text: str, at: int) -> int:
    """Where the run of local-part characters (``[\\w.+-]``) before the ``@`` at ``at`` starts: no e-mail address
    starts before the first ``@``'s run, as an address is such a run, an ``@`` and a domain."""
    while at and LOCAL_PART_CHAR.match(text, at - 1):
        at -= 1
    return at


def mask(text: str, spans: dict[str, list[list[int]]]) -> str:
    """``text`` with every span of ``spans`` (by PII type) replaced by OLMo's placeholder for its type."""
    pieces = sorted(((int(s), int(e), REPLACEMENTS[kind]) for kind, items in spans.items() if kind in REPLACEMENTS
                     for s, e, *_ in items), reverse=True)
    for start, end, replacement in pieces:
        text = text[:start] + replacement + text[end:]
    return text
