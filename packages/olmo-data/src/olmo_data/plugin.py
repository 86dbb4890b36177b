"""olmo-data's built-in components, registered through the same hooks as any plugin."""

from __future__ import annotations

from olmo_core.plugins import hookimpl
from olmo_core.registry import Register

from olmo_data.commands.composition import CompositionJob
from olmo_data.commands.count import CountConfig, count_command
from olmo_data.commands.decontaminate import DecontaminateConfig, DecontaminateJob
from olmo_data.commands.dedup import DedupConfig, DedupJob
from olmo_data.commands.fetch import FetchConfig, FetchJob
from olmo_data.commands.filter import FilterConfig, FilterJob
from olmo_data.commands.mix import MixConfig, MixJob
from olmo_data.commands.sources import SourcesConfig, sources_command
from olmo_data.commands.stats import StatsConfig, StatsJob
from olmo_data.commands.tag import TagConfig, TagJob
from olmo_data.commands.tokenize import TokenizeConfig, TokenizeJob
from olmo_data.dedup.register import register_dedupers
from olmo_data.mixing.mixers import FactorsConfig, FactorsMixer, ProportionsConfig, ProportionsMixer
from olmo_data.sources.catalog import register_sources
from olmo_data.taggers.badwords import BadWordsConfig, BadWordsTagger
from olmo_data.taggers.language import LanguageConfig, LanguageTagger
from olmo_data.taggers.pii import PiiConfig, PiiTagger
from olmo_data.taggers.register import register_taggers as register_quality_taggers


@hookimpl(trylast=True)
def olmo_register_jobs(register: Register) -> None:
    register("fetch", FetchJob, config=FetchConfig)
    register("tag", TagJob, config=TagConfig)
    register("filter", FilterJob, config=FilterConfig)
    register("dedup", DedupJob, config=DedupConfig)
    register("mix", MixJob, config=MixConfig)
    register("decontaminate", DecontaminateJob, config=DecontaminateConfig)
    register("composition", CompositionJob)
    register("tokenize", TokenizeJob, config=TokenizeConfig)
    register("stats", StatsJob, config=StatsConfig)


@hookimpl(trylast=True)
def olmo_register_commands(register: Register) -> None:
    register("data count", count_command, config=CountConfig,
             help="documents containing a text and its occurrences, per source, with example snippets")
    register("data sources", sources_command, config=SourcesConfig)


@hookimpl(trylast=True)
def olmo_register_sources(register: Register) -> None:
    register_sources(register)


@hookimpl(trylast=True)
def olmo_register_taggers(register: Register) -> None:
    register("language", LanguageTagger, config=LanguageConfig)
    register("pii", PiiTagger, config=PiiConfig)
    register("badwords", BadWordsTagger, config=BadWordsConfig)
    register_quality_taggers(register)


@hookimpl(trylast=True)
def olmo_register_mixers(register: Register) -> None:
    register("factors", FactorsMixer, config=FactorsConfig)
    register("proportions", ProportionsMixer, config=ProportionsConfig)


@hookimpl(trylast=True)
def olmo_register_dedupers(register: Register) -> None:
    register_dedupers(register)
