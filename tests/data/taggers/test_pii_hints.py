"""The PII tagger scans for phone numbers and IP addresses only in texts that hold their hints, and for each kind
only from where its first possible match starts (e-mail addresses: the run of local-part characters before the
first ``@``); gated or not, it finds the same spans."""

from __future__ import annotations

import pytest
from olmo_core.documents import Document
from olmo_data.taggers.pii import EMAIL, IP, ISBN_BEFORE, PHONE, VERSION_BEFORE, PiiConfig, PiiTagger

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
    "no. 12345678 1(555)123-4567",                 # a country code right after another run of digits
    "+1 (555) 123-4567 then 255.255.255.0",        # the first phone number starts 4 characters before its digits
]
EMAILS = [
    "a@b.com.x@c.com",                             # the second "@" has no address of its own
    "mail first.last+tag@example.co.uk, then bob@host.org",
    "@ alone, then " + "x" * 300 + "@example.com",  # a long local part, after an "@" with none
    "ü.ñ@exämple.com and (me@here.io)",
    "no address @ all",
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
    assert [len(f["PHONE_NUMBER"]) for f in found] == [1, 1, 0, 2, 2, 0, 1, 1, 1]
    assert [len(f["IP_ADDRESS"]) for f in found] == [0, 0, 2, 0, 0, 1, 0, 0, 1]


def test_hinted_numbers_start_where_their_first_match_can() -> None:
    found = [PiiTagger(PiiConfig()).tag(Document(id="x", text=text)) for text in NUMBERS[-2:]]
    assert [f["PHONE_NUMBER"] for f in found] == [[[13, 27, 1.0]], [[0, 17, 1.0]]]
    assert found[1]["IP_ADDRESS"] == [[23, 36, 1.0]]


TRICKY_EMAILS = ["x@@y.com", "@a@b.co", "me@x.io,you@y.io", "bad@ x@y.org", "q@r.st@u.vw", "a.b@c.d.ef@g.hi j@k.lm",
                 "mail@host.c0m x-y@h-i.jk- z@w.xy_", "+@a.bc .@d.ef", "<a@b.cd>@e.fg"]


@pytest.mark.parametrize("text", EMAILS + TRICKY_EMAILS + [str(r["text"]) for r in stdlib_documents()])
def test_emails_scanned_from_the_first_local_part_as_from_the_start(text: str) -> None:
    found = PiiTagger(PiiConfig()).tag(Document(id="x", text=text))["EMAIL_ADDRESS"]
    assert [span[:2] for span in found] == [[m.start(), m.end()] for m in EMAIL.finditer(text)]


def test_email_spans() -> None:
    found = [PiiTagger(PiiConfig()).tag(Document(id="x", text=text))["EMAIL_ADDRESS"] for text in EMAILS]
    assert [[text[s:e] for s, e, _ in spans] for text, spans in zip(EMAILS, found, strict=True)] == [
        ["a@b.com"], ["first.last+tag@example.co.uk", "bob@host.org"], ["x" * 300 + "@example.com"], ["me@here.io"],
        []]
