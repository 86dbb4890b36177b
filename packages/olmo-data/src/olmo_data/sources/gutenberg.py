"""Shakespeare and Milton from Project Gutenberg (the ``shakespeare`` package's texts), boilerplate removed.

Shakespeare comes in two editions of most plays, Gutenberg's modern-spelling text and the First Folio: they
are kept as separate documents on purpose, since they are the near-duplicates that dedup must find.
"""

from __future__ import annotations

import configparser
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from olmo_core.assets import extracted_members
from olmo_core.documents import Document
from olmo_core.errors import ConfigError

from olmo_data.sources.archives import SHAKESPEARE
from olmo_data.sources.base import Source, SourceConfig

__all__ = ["MiltonSource", "ShakespeareConfig", "ShakespeareSource", "strip_gutenberg"]

_HEADER_END = re.compile(r"^\*{3} ?START OF (THE|THIS) PROJECT GUTENBERG.*$|^\*END\*THE SMALL PRINT.*$", re.I | re.M)
_FOOTER_START = re.compile(r"^\*{3} ?END OF (THE|THIS) PROJECT GUTENBERG|^End of (the )?Project Gutenberg", re.I | re.M)
EDITIONS = {"_gut.txt": "gutenberg", "_gut_f.txt": "first-folio"}


def strip_gutenberg(text: str) -> str:
    """``text`` without a byte-order mark or DOS end-of-file mark, with ``\\n`` line ends, and without Project
    Gutenberg's header (up to its ``*** START OF ...`` or small-print end line) and footer (from ``*** END OF
    ...`` or ``End of Project Gutenberg``), where it has them."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n")
    headers = list(_HEADER_END.finditer(text))
    if headers:
        text = text[headers[-1].end():]
    footer = _FOOTER_START.search(text)
    if footer is not None:
        text = text[: footer.start()]
    return text.strip().rstrip("\x1a").strip() + "\n"


@dataclass(kw_only=True)
class ShakespeareConfig(SourceConfig):
    """Options of the Shakespeare source."""

    editions: list[str] = field(default_factory=lambda: ["gutenberg", "first-folio"])
    """Which editions: ``gutenberg`` (42 plays and poems, modern spelling) and ``first-folio`` (35 plays)."""


class _GutenbergTexts(Source):
    folder = ""
    author = ""
    language: str | None = None
    archive = SHAKESPEARE

    def wanted(self, file: str) -> str | None:
        """The edition of ``file``, or ``None`` when it is not read."""
        return "gutenberg" if file.endswith("_gut.txt") else None

    def read(self) -> Iterator[Document]:
        files = dict(extracted_members(self.archive, self.folder))
        catalog = configparser.RawConfigParser()
        catalog.read_string(files[f"{self.folder}/metadata.txt"].decode("utf-8"))
        for member in sorted(files):
            edition = self.wanted(member)
            if edition is None:
                continue
            stem = posixpath.basename(member)[: -len(".txt")]
            entry = catalog[stem] if catalog.has_section(stem) else {}
            text = strip_gutenberg(files[member].decode("utf-8-sig"))
            yield self.document(stem, text, title=entry.get("title"), author=self.author, edition=edition,
                                language=self.language, url=entry.get("url"), file=member)


class ShakespeareSource(_GutenbergTexts):
    """Shakespeare's plays and poems from Project Gutenberg: 42 in modern spelling and 35 First Folio texts.

    One document per file (``shksprdata/texts/<work>_gut.txt`` or ``<work>_gut_f.txt``); ids are
    ``shakespeare-<file stem>``; metadata has the title, edition and Gutenberg URL.
    """

    name = "shakespeare"
    description = "Shakespeare's plays and poems (Project Gutenberg), modern and First Folio editions"
    license = "Public domain (texts); package MIT"
    folder = "shksprdata/texts"
    author = "William Shakespeare"
    language = "en"

    def __init__(self, config: ShakespeareConfig | None = None) -> None:
        super().__init__(config or ShakespeareConfig())
        unknown = sorted(set(self.config.editions) - set(EDITIONS.values()))
        if unknown:
            raise ConfigError(f"source.editions has unknown {unknown}; choose among {sorted(EDITIONS.values())}")

    def wanted(self, file: str) -> str | None:
        for suffix, edition in EDITIONS.items():
            if file.endswith(suffix):
                return edition if edition in self.config.editions else None
        return None


class MiltonSource(_GutenbergTexts):
    """Milton's works from Project Gutenberg: 7 texts (``miltondata/texts/*_gut.txt``; the package's other
    files are byte-identical copies and are skipped). Ids are ``milton-<file stem>``."""

    name = "milton"
    description = "Milton's works (Project Gutenberg): Paradise Lost and Regained, Comus, Areopagitica, poems"
    license = "Public domain (texts); package MIT"
    folder = "miltondata/texts"
    author = "John Milton"
