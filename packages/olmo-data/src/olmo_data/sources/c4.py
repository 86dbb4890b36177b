"""A sample of C4, the cleaned Common Crawl web text that T5 and OLMo's Dolma draw on."""

from __future__ import annotations

import json
from collections.abc import Iterator

from olmo_core.assets import read_member
from olmo_core.documents import Document

from olmo_data.sources.archives import LLAMAFACTORY
from olmo_data.sources.base import Source

__all__ = ["C4Source"]

MEMBER = "data/c4_demo.jsonl"


class C4Source(Source):
    """300 English web documents from C4 (the sample shipped with LLaMA-Factory's sources).

    Ids are ``c4-<line>`` (the 1-based line of ``data/c4_demo.jsonl``); the file has no URLs or dates.
    """

    name = "c4"
    description = "300 English web pages from C4 (cleaned Common Crawl)"
    license = "ODC-BY-1.0 (C4 text); package Apache-2.0"
    archive = LLAMAFACTORY

    def read(self) -> Iterator[Document]:
        lines = read_member(self.archive, MEMBER).decode("utf-8").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            yield self.document(f"{number:05d}", record["text"], language="en", file=MEMBER, line=number)
