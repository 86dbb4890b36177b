"""C4's cleaning rules (Raffel et al. 2020), as datatrove 0.10.1's ``C4QualityFilter`` defines them.

Lines are ``str.splitlines()``, each stripped, and go through the rules in TFDS ``clean_page``'s order; the
first rule a line fails removes it:

1. a whitespace-separated word longer than ``max_word_length`` (1000) characters: ``lines_too_long_word``;
2. (Wikipedia citations ``[1]``, ``[edit]``, ``[citation needed]`` are deleted from the line);
3. not ending in ``.``, ``?``, ``!``, ``"`` or ``'``, or ending in ``...``: ``lines_no_terminal_punctuation``;
4. fewer than ``min_words_per_line`` (3) whitespace-separated words: ``lines_too_few_words``;
5. "lorem ipsum" anywhere in the line (any case) fails the whole document: ``lorem_ipsum``;
6. "javascript" (any case): ``lines_javascript``;
7. a ``{`` fails the whole document: ``curly_bracket``;
8. "terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies" or "use cookies":
   ``lines_policy``.

A document whose surviving lines hold fewer than ``min_num_sentences`` (5) sentences (spaCy's sentencizer,
approximated by :func:`olmo_data.taggers.words.count_sentences`) fails ``too_few_sentences``.

Defaults are datatrove's, not TFDS's: TFDS keeps lines of at least 5 words and documents of at least 3
sentences and does not accept ``'`` as a line end; datatrove uses 3 words and 5 sentences (quoting the
paper) and accepts ``'``. Because the checks run in this order, a ``{`` or "lorem ipsum" on a line that a
line rule removes never fails the document. datatrove's sentence mode (``split_paragraph=False``) is not
offered.

C4's bad-words rule is datatrove's separate ``C4BadWordsFilter``, so it is off by default here too
(``filter_bad_words=true`` turns it on): the kept lines, lowercased, fail ``document_removed_with_badwords``
when an entry of the English LDNOOBW list (:mod:`olmo_data.taggers.badwords`, the npm release
``naughty-words@1.2.0``, fetched once) stands between non-word characters, as datatrove matches it.

Attributes: line spans ``[start, end, 1]`` (the line with its line break, as dolma's ``c4`` taggers write
them) for each removal rule above and ``removed_lines`` for all of them; ``citations`` spans the citations
of kept lines; document values ``line_count``, ``kept_line_count``, ``has_lorem_ipsum`` and
``has_curly_bracket`` (1 if a line reaching that check has one) and ``sentence_count`` (in the kept lines,
counting those that fail the document; ``has_bad_word`` when switched on), each document rule with
``<name>_pass``, and ``keep`` and
``reason`` as in :mod:`olmo_data.taggers.rules`. Deleting ``removed_lines`` and ``citations`` from a kept
document gives datatrove's rewritten text up to whitespace at line ends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from olmo_core.config import non_negative
from olmo_core.documents import Document

from olmo_data.taggers.base import Attributes, Span
from olmo_data.taggers.rules import Check, check_attributes
from olmo_data.taggers.words import count_sentences

__all__ = ["C4Config", "C4Tagger"]

CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")
END_PUNCTUATION = (".", "?", "!", '"', "'")
POLICY_PHRASES = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
LINE_RULES = ("lines_too_long_word", "lines_no_terminal_punctuation", "lines_too_few_words", "lines_javascript",
              "lines_policy")


@dataclass(kw_only=True)
class C4Config:
    """Switches and limits of the C4 rules; datatrove's ``C4QualityFilter`` defaults. 0 turns a limit off."""

    remove_citations: bool = True
    """Delete Wikipedia-style citations before the line-end check."""
    filter_no_terminal_punct: bool = True
    """Remove lines that do not end in terminal punctuation (or that end in an ellipsis)."""
    min_num_sentences: int = non_negative(5)
    """Fail documents with fewer sentences in their kept lines (``too_few_sentences``)."""
    min_words_per_line: int = non_negative(3)
    """Remove lines with fewer whitespace-separated words."""
    max_word_length: int = non_negative(1000)
    """Remove lines with a longer whitespace-separated word."""
    filter_lorem_ipsum: bool = True
    """Fail documents with "lorem ipsum" (``lorem_ipsum``)."""
    filter_javascript: bool = True
    """Remove lines that mention "javascript"."""
    filter_curly_bracket: bool = True
    """Fail documents with a ``{`` (``curly_bracket``)."""
    filter_policy: bool = True
    """Remove lines with cookie or terms-of-use phrases."""
    filter_bad_words: bool = False
    """Fail documents whose kept lines hold an LDNOOBW English entry (``document_removed_with_badwords``)."""


@lru_cache(maxsize=1)
def _bad_words() -> re.Pattern[str]:
    from olmo_data.taggers.badwords import word_list

    return re.compile(r"(?:\W|^)({})(?:\W|$)".format("|".join(map(re.escape, word_list("en")))))


_SPACE = re.compile(r"\s")


def _has_long_word(text: str, limit: int) -> bool:
    """Whether a whitespace-separated word of ``text`` is longer than ``limit`` characters, found without
    splitting ``text``: such a word holds a multiple of ``limit`` (as a position), so only the word through each
    multiple is measured, by where it ends and whether the ``limit + 1`` characters before that are whitespace-free."""
    for position in range(0, len(text), limit):
        space = _SPACE.search(text, position)
        end = space.start() if space else len(text)
        if end > limit and not _SPACE.search(text, end - limit - 1, end):
            return True
    return False


class C4Tagger:
    """C4's rules: which lines C4 removes, and whether the document survives (see the module docstring)."""

    def __init__(self, config: C4Config | None = None) -> None:
        self.config = config or C4Config()

    def tag(self, document: Document) -> Attributes:
        """Line removals and the document's verdict under C4's rules."""
        c = self.config
        text = document.text
        spans: dict[str, list[Span]] = {name: [] for name in (*LINE_RULES, "removed_lines", "citations")}
        removed = spans["removed_lines"]
        lorem = curly = False
        first_failure = ""
        sentences = 0
        kept_lines: list[str] = []
        long_word, few_words = c.max_word_length, c.min_words_per_line
        line_count = end = 0
        for raw in text.splitlines(keepends=True):
            line_count += 1
            start, end = end, end + len(raw)
            line = stripped = raw.strip()
            if c.remove_citations and "[" in line:
                offset = start + len(raw) - len(raw.lstrip())
                cited = [(offset + m.start(), offset + m.end()) for m in CITATION.finditer(line)]
                line = CITATION.sub("", line)
            else:
                cited = []
            # the rules in C4's order; the words of the first ones are those of the line before citations went
            if long_word and len(line) > long_word and _has_long_word(stripped, long_word):
                rule = "lines_too_long_word"
            elif c.filter_no_terminal_punct and (not line.endswith(END_PUNCTUATION) or line.endswith("...")):
                rule = "lines_no_terminal_punctuation"
            elif few_words and len(stripped.split(maxsplit=few_words - 1)) < few_words:
                rule = "lines_too_few_words"
            else:
                rule = ""
                lowered = line.lower()
                if c.filter_lorem_ipsum and "lorem ipsum" in lowered:
                    lorem = True
                    first_failure = first_failure or "lorem_ipsum"
                if c.filter_javascript and "javascript" in lowered:
                    rule = "lines_javascript"
                elif c.filter_curly_bracket and "{" in line:
                    curly = True
                    first_failure = first_failure or "curly_bracket"
                if not rule and c.filter_policy and any(phrase in lowered for phrase in POLICY_PHRASES):
                    rule = "lines_policy"
            if rule:
                spans[rule].append([start, end, 1])
                removed.append([start, end, 1])
                continue
            kept_lines.append(line)
            if cited:
                spans["citations"].extend([s, e, 1] for s, e in cited)
            if c.min_num_sentences:
                sentences += count_sentences(line)
        few_sentences = sentences < c.min_num_sentences
        checks = [Check("has_lorem_ipsum", int(lorem), not lorem, "lorem_ipsum"),
                  Check("has_curly_bracket", int(curly), not curly, "curly_bracket"),
                  Check("sentence_count", sentences, not few_sentences, "too_few_sentences")]
        if first_failure == "curly_bracket" and lorem:
            checks[0], checks[1] = checks[1], checks[0]
        if c.filter_bad_words:
            bad = int(_bad_words().search("\n".join(kept_lines).lower()) is not None)
            checks.append(Check("has_bad_word", bad, not bad, "document_removed_with_badwords"))
        attributes = check_attributes(len(text), checks)
        attributes["line_count"] = [[0, len(text), line_count]]
        attributes["kept_line_count"] = [[0, len(text), len(kept_lines)]]
        attributes.update(spans)
        return attributes
