"""olmo-data's pipeline stages: ``fetch`` (a multi-source corpus) and ``curate`` (tag, then filter)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from olmo_core.pipeline.stage import StageContext
from olmo_core.plugins import get_host

from olmo_data.commands.fetch import FetchConfig, fetch_command
from olmo_data.commands.filter import FilterConfig, filter_command
from olmo_data.commands.tag import TagConfig, tag_command

__all__ = ["CurateStage", "CurateStageConfig", "DEFAULT_CORPUS", "DEFAULT_RULES", "FetchStage", "FetchStageConfig"]

DEFAULT_CORPUS: dict[str, int | None] = {
    "c4": None, "wikipedia": 3000, "wikipedia-fr": 300, "wikipedia-es": 300, "shakespeare": 20, "bible": 300,
    "spam-assassin": 1000, "sotu": 60, "moby-dick": None, "python-stdlib": 200,
}
"""Sources of the default corpus and how many documents of each (``None``: all): web, encyclopedic (with
French and Spanish for the language filter), books, mail (with real PII and spam), speeches and code."""

PROSE_EXCEPT_CODE = "source != 'python-stdlib'"
DEFAULT_RULES = [
    f"{PROSE_EXCEPT_CODE} and language__language__en < 0.5",
    "pii__pii__doc_count > 5",
    "source in ['c4', 'spam-assassin'] and badwords__badwords__has_bad_word == 1",
]
"""Dolma v1.5's choices: English (score >= 0.5) except code, more than 5 PII spans dropped, and C4's
bad-words rule on web and mail text."""
DEFAULT_MASKS = [f"pii__pii__{kind} => |||{kind}|||" for kind in ("EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS")]


@dataclass(kw_only=True)
class FetchStageConfig:
    """Options of the fetch stage."""

    sources: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_CORPUS))
    """Sources to fetch, each with a document limit (``null``: all of it)."""


class FetchStage:
    """Fetch every configured source into the run's dataset (``<run>/data/documents/<source>/``)."""

    def __init__(self, config: FetchStageConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        dataset = context.run_dir / "data"
        registry = get_host().registry("sources")
        documents: dict[str, int] = {}
        for name, limit in self.config.sources.items():
            _, source = registry.resolve(name)
            source.limit = limit
            report = fetch_command(FetchConfig(source=source, output=str(dataset)))
            for entry_name, entry in report["sources"].items():
                documents[entry_name] = entry["documents"]
        return {"dataset": str(dataset), "documents": documents, "total_documents": sum(documents.values())}


@dataclass(kw_only=True)
class CurateStageConfig:
    """Options of the curate stage."""

    taggers: list[str] = field(default_factory=lambda: ["language", "pii", "badwords"])
    """Taggers to run (registered names)."""
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_RULES))
    """Filter expressions that drop a document (see ``olmo data filter``)."""
    replace: list[str] = field(default_factory=lambda: list(DEFAULT_MASKS))
    """Span replacements; by default PII becomes OLMo's placeholder tokens."""
    workers: int = 0
    """Processes for tagging and filtering (0: one per CPU core)."""


class CurateStage:
    """Tag the fetched documents and filter them: the curated corpus is ``<stage>/curated/documents``."""

    def __init__(self, config: CurateStageConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        dataset = context.result("fetch", "dataset")
        registry = get_host().registry("taggers")
        taggers = {name: registry.resolve(name)[1] for name in self.config.taggers}
        tagged = tag_command(TagConfig(input=dataset, taggers=taggers, workers=self.config.workers))
        curated = context.stage_dir / "curated"
        report = filter_command(FilterConfig(input=dataset, output=str(curated), exclude=list(self.config.exclude),
                                             replace=list(self.config.replace), workers=self.config.workers))
        return {"dataset": str(curated), "tagged": tagged["documents"], "kept": report["kept"],
                "dropped": report["dropped"], "quarantined": report["quarantined"],
                "dropped_by": report["dropped_by"], "per_source": report["per_source"]}
