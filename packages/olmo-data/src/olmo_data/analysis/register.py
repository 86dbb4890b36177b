"""Registration of the corpus-analysis commands, ``olmo data stats`` and ``olmo data count``."""

from __future__ import annotations

from olmo_core.registry import Register

from olmo_data.commands.count import CountConfig, count_command
from olmo_data.commands.stats import StatsConfig, stats_command

__all__ = ["register_commands"]


def register_commands(register: Register) -> None:
    """Register the analysis commands through an ``olmo_register_commands`` callback."""
    register("data stats", stats_command, config=StatsConfig,
             help="what is in a corpus, per source: sizes, tokens, lengths, top n-grams, duplicates, languages, "
                  "PII; stats.json and PNG figures")
    register("data count", count_command, config=CountConfig,
             help="documents containing a text and its occurrences, per source, with example snippets")
