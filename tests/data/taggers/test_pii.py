from __future__ import annotations

import pytest

from olmo_core.documents import Document
from olmo_data.taggers.pii import PiiConfig, PiiTagger, mask


def spans(text: str) -> dict[str, list[str]]:
    found = PiiTagger(PiiConfig()).tag(Document(id="x", text=text))
    return {k: [text[int(s[0]):int(s[1])] for s in v] for k, v in found.items() if k != "doc_count" and v}


@pytest.mark.parametrize(("text", "expected"), [
    ("Write to bob.smith@example.org for details", {"EMAIL_ADDRESS": ["bob.smith@example.org"]}),
    ("the last thing is an address: jane@lists.example.com", {"EMAIL_ADDRESS": ["jane@lists.example.com"]}),
    ("Call 555-123-4567 or (555) 123-4567.", {"PHONE_NUMBER": ["555-123-4567", "(555) 123-4567"]}),
    ("Phone:555.123.4567", {"PHONE_NUMBER": ["555.123.4567"]}),
    ("The server at 192.168.0.1 answered", {"IP_ADDRESS": ["192.168.0.1"]}),
    ("Upgrade to version 1.2.3.4 today", {}),
    ("tagged v10.0.0.1 and 1.2.3.4.5 and 10.0.0.256", {}),
    ("ISBN 123-456-7890 is a book", {}),
    ("no personal information here", {}),
])
def test_spans(text: str, expected: dict[str, list[str]]) -> None:
    assert spans(text) == expected


def test_count_and_mask_with_olmo_placeholders() -> None:
    text = "Mail ann@example.com or call 555-123-4567 from 10.1.2.3"
    found = PiiTagger(PiiConfig()).tag(Document(id="x", text=text))
    assert found["doc_count"] == [[0, len(text), 3]]
    assert mask(text, found) == "Mail |||EMAIL_ADDRESS||| or call |||PHONE_NUMBER||| from |||IP_ADDRESS|||"
