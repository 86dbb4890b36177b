"""Registration of the quality taggers: ``gopher_quality``, ``gopher_repetition``, ``c4`` and ``code``."""

from __future__ import annotations

from olmo_core.registry import Register

from olmo_data.taggers.c4 import C4Config, C4Tagger
from olmo_data.taggers.code import CodeConfig, CodeTagger
from olmo_data.taggers.gopher import (GopherQualityConfig, GopherQualityTagger, GopherRepetitionConfig,
                                      GopherRepetitionTagger)

__all__ = ["register_taggers"]


def register_taggers(register: Register) -> None:
    """Register the rule-based quality taggers through an ``olmo_register_taggers`` callback."""
    register("gopher_quality", GopherQualityTagger, config=GopherQualityConfig,
             help="Gopher quality rules (datatrove's definitions and defaults): values, verdicts, keep, reason")
    register("gopher_repetition", GopherRepetitionTagger, config=GopherRepetitionConfig,
             help="Gopher repetition rules (datatrove's definitions and defaults): values, verdicts, keep, reason")
    register("c4", C4Tagger, config=C4Config,
             help="C4 line and document rules (datatrove's C4QualityFilter defaults): removed lines, keep, reason")
    register("code", CodeTagger, config=CodeConfig,
             help="Dolma's code rules (line lengths, alphanumerics, comments, generated files): keep, reason")
