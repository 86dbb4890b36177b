"""The built-in sources, ``all`` of them as one selectable source, and their registration."""

from __future__ import annotations

from collections.abc import Iterator

from olmo_core.documents import Document
from olmo_core.registry import Register

from olmo_data.sources.base import Source, SourceConfig
from olmo_data.sources.bible import BibleConfig, BibleSource
from olmo_data.sources.c4 import C4Source
from olmo_data.sources.gutenberg import MiltonSource, ShakespeareConfig, ShakespeareSource
from olmo_data.sources.mail import SpamAssassinConfig, SpamAssassinSource
from olmo_data.sources.python_code import PythonStdlibConfig, PythonStdlibSource
from olmo_data.sources.stdlib_js import MobyDickSource, SotuSource
from olmo_data.sources.user_files import (JsonlSource, ParquetConfig, ParquetSource, TextFolderConfig,
                                          TextFolderSource, UserSourceConfig)
from olmo_data.sources.wikipedia import WikipediaConfig, WikipediaSource

__all__ = ["AllSources", "builtin_sources", "register_sources"]


def builtin_sources(limit: int | None = None, held_out: str = "exclude") -> list[Source]:
    """One of each built-in source with its default options (and ``limit`` and ``held_out``), in a fixed
    order."""
    return [
        C4Source(SourceConfig(limit=limit, held_out=held_out)),
        WikipediaSource(WikipediaConfig(limit=limit, held_out=held_out)),
        WikipediaSource(WikipediaConfig(language="fr", limit=limit, held_out=held_out)),
        WikipediaSource(WikipediaConfig(language="es", limit=limit, held_out=held_out)),
        ShakespeareSource(ShakespeareConfig(limit=limit, held_out=held_out)),
        MiltonSource(SourceConfig(limit=limit, held_out=held_out)),
        BibleSource(BibleConfig(limit=limit, held_out=held_out)),
        SpamAssassinSource(SpamAssassinConfig(limit=limit, held_out=held_out)),
        SotuSource(SourceConfig(limit=limit, held_out=held_out)),
        MobyDickSource(SourceConfig(limit=limit, held_out=held_out)),
        PythonStdlibSource(PythonStdlibConfig(limit=limit, held_out=held_out)),
    ]


class AllSources(Source):
    """Every built-in source, each keeping its own name (``sources=[all]``); ``limit`` applies to each one."""

    name = "all"
    description = "every built-in source, each under its own name"
    license = "each source's own"

    def __init__(self, config: SourceConfig | None = None) -> None:
        super().__init__(config or SourceConfig())
        self.parts = builtin_sources(self.limit, getattr(self.config, "held_out", "exclude"))
        """The sources it stands for."""

    @property
    def pin(self) -> None:
        return None

    @property
    def download_bytes(self) -> int:
        archives = {part.archive.key: part.download_bytes or 0 for part in self.parts if part.archive}
        return sum(archives.values())

    def is_cached(self) -> bool:
        return all(part.is_cached() for part in self.parts)

    def fetch(self) -> None:
        for part in self.parts:
            part.fetch()

    def read(self) -> Iterator[Document]:
        for part in self.parts:
            yield from part.documents()

    def documents(self) -> Iterator[Document]:
        """Each part's documents in turn (each part applies ``limit``)."""
        return self.read()


def register_sources(register: Register) -> None:
    """Register the built-in sources, the user-file sources and ``all``."""
    register("c4", C4Source, config=SourceConfig)
    register("wikipedia", WikipediaSource, config=WikipediaConfig, aliases=("wikipedia-en",),
             presets={"wikipedia-fr": WikipediaConfig(language="fr"), "wikipedia-es": WikipediaConfig(language="es")})
    register("shakespeare", ShakespeareSource, config=ShakespeareConfig)
    register("milton", MiltonSource, config=SourceConfig)
    register("bible", BibleSource, config=BibleConfig)
    register("spam-assassin", SpamAssassinSource, config=SpamAssassinConfig)
    register("sotu", SotuSource, config=SourceConfig)
    register("moby-dick", MobyDickSource, config=SourceConfig)
    register("python-stdlib", PythonStdlibSource, config=PythonStdlibConfig)
    register("jsonl", JsonlSource, config=UserSourceConfig)
    register("parquet", ParquetSource, config=ParquetConfig)
    register("text-folder", TextFolderSource, config=TextFolderConfig)
    register("all", AllSources, config=SourceConfig)
