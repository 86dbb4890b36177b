"""The PII tagger scans for phone numbers and IP addresses only in texts that hold their hints; gated or not,
it finds the same spans."""

from __future__ import annotations

import pytest
from olmo_core.documents import Document
from olmo_data.taggers.pii import IP, ISBN_BEFORE, PHONE, VERSION_BEFORE, PiiConfig, PiiTagger

from tests.conftest import stdlib_documents
from tests.data.taggers.helpers import python_files

NUMBERS = [
    "Call 1 800 555 1234 now.",                   # digits separated by spaces: the run starts at "1"
    "From 2019 - 555.123.4567 - call",            # the phone number sits after a year in the same run
    "ids 12 34 56 10.0.0.1 and 7-7-7 8.8.4.4",    # IPs after other numbers in one run of digits and spaces
    "(555)123-4567 x 555 1234567",
    "+1-555-123-4567, 1.555.123.4567",
    "version 1.2.3.4 but 5.6.7.8",
    "٣٣٣-٣٣٣-٤٤٤٤",                                # other scripts' digits
]


def ungated(text: str) -> tuple[list[list[int]], list[list[int]]]:
    """The IP and phone spans of the whole text scanned without hints, kept by the tagger's own checks."""
    ips = [[m.start(), m.end()] for m in IP.finditer(text)
           if not VERSION_BEFORE.search(text, max(0, m.start() - 12), m.start())]
    phones = [[m.start(), m.end()] for m in PHONE.finditer(text)
              if not ISBN_BEFORE.search(text, max(0, m.start() - 10), m.start())
              and not any(s <= m.start() < e for s, e in ips)]
    return ips, phones


@pytest.mark.parametrize("text", NUMBERS + [str(r["text"]) for r in stdlib_documents()]
                         + [text for _, text in python_files(12)])
def test_gating_changes_no_span(text: str) -> None:
    found = PiiTagger(PiiConfig()).tag(Document(id="x", text=text))
    ips, phones = ungated(text)
    assert [span[:2] for span in found["IP_ADDRESS"]] == ips
    assert [span[:2] for span in found["PHONE_NUMBER"]] == phones


def test_hinted_numbers_are_found() -> None:
    found = [PiiTagger(PiiConfig()).tag(Document(id="x", text=text)) for text in NUMBERS]
    assert [len(f["PHONE_NUMBER"]) for f in found] == [1, 1, 0, 2, 2, 0, 1]
    assert [len(f["IP_ADDRESS"]) for f in found] == [0, 0, 2, 0, 0, 1, 0]
