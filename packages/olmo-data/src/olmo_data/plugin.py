"""olmo-data's built-in components, registered through the same hooks as any plugin."""

from __future__ import annotations

from olmo_core.plugins import hookimpl
from olmo_core.registry import Register

from olmo_data.analysis.register import register_commands as register_analysis
from olmo_data.dedup.register import register_commands as register_dedup_commands
from olmo_data.dedup.register import register_dedupers
from olmo_data.commands.decontaminate import DecontaminateConfig, decontaminate_command
from olmo_data.commands.fetch import FetchConfig, fetch_command
from olmo_data.commands.filter import FilterConfig, filter_command
from olmo_data.commands.sources import SourcesConfig, sources_command
from olmo_data.commands.mix import MixConfig, mix_command
from olmo_data.commands.tag import TagConfig, tag_command
from olmo_data.commands.tokenize import TokenizeConfig, tokenize_command
from olmo_data.mixing.mixers import FactorsConfig, FactorsMixer, ProportionsConfig, ProportionsMixer
from olmo_data.sources.catalog import register_sources
from olmo_data.taggers.register import register_taggers as register_quality_taggers
from olmo_data.taggers.badwords import BadWordsConfig, BadWordsTagger
from olmo_data.taggers.language import LanguageConfig, LanguageTagger
from olmo_data.taggers.pii import PiiConfig, PiiTagger


@hookimpl(trylast=True)
def olmo_register_commands(register: Register) -> None:
    register("data tag", tag_command, config=TagConfig)
    register("data filter", filter_command, config=FilterConfig)
    register("data tokenize", tokenize_command, config=TokenizeConfig)
    register("data mix", mix_command, config=MixConfig)
    register("data decontaminate", decontaminate_command, config=DecontaminateConfig)
    register_analysis(register)
    register_dedup_commands(register)
    register("data sources", sources_command, config=SourcesConfig)
    register("data fetch", fetch_command, config=FetchConfig)


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
