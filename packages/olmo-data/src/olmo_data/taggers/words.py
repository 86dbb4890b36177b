"""A fast, dependency-free word splitter that approximates spaCy's blank English tokenizer.

datatrove (0.10.1) splits words with ``spacy.blank("en")``: text is cut at whitespace, then punctuation is
peeled off each piece as prefixes and suffixes, a few infixes split it further (``well-known`` ->
``well - known``), and special cases keep abbreviations (``e.g.``, ``Mr.``) or split contractions
(``don't`` -> ``do n't``). :func:`split_words` follows that algorithm with the same classes of characters,
written here as precompiled ``re`` patterns, and caches the result per whitespace-separated piece, so that
a document costs about one dictionary lookup per piece.

Where it differs from spaCy (all rare in prose, and documented so that results can be judged):

- Letter classes are approximated: lower case is ASCII and Latin-1 (``a-z``, ``ß-ÿ``), upper case likewise;
  spaCy lists every script's cased letters. "Other symbol" icons (emoji, box drawing, ``©``, ``�``) are the
  ``So`` characters of Python's Unicode database in the blocks where they occur in text, not spaCy's table.
- Special cases: contractions are split by rule (any word ending in ``n't``, ``'m``, ``'re``, ``'ve``,
  ``'ll``, ``'d``, ``'s``) instead of spaCy's list of pronouns and verbs, so ``John'll`` splits here and not
  in spaCy; abbreviations are a list of common ones (titles, months, US states, Latin, single letters);
  apostrophe-less forms other than ``cannot``, ``gonna``, ``gotta``, ``wanna`` are not split (spaCy also
  splits ``dont`` and the like).
- Emoticons are merged when they come out as adjacent punctuation tokens (``f(x):`` -> ``f(x`` ``):``, as in
  spaCy); emoticons with letters (``:D``, ``xD``) are not recognised.
- URLs and e-mail addresses are kept whole by a simpler pattern than spaCy's ``URL_MATCH``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import lru_cache
from itertools import chain, repeat
from typing import TypeVar

__all__ = ["PieceCache", "count_sentences", "sentences_in_pieces", "split_words", "words_of"]

T = TypeVar("T")

_LOWER = "a-zß-öø-ÿ"
_UPPER = "A-ZÀ-ÖØ-Þ"
_ALPHA = r"[^\W\d_]"
_PUNCT = "…,:;!?¿؟¡()\\[\\]{}<>_#*&。？！，、；：～·।،۔؛٪"
_QUOTES = "'\"”“`‘´’‚,„»«「」『』（）〔〕【】《》〈〉⟦⟧"
_CURRENCY = "$£€¥฿₽﷼₴₠-₿"


def _other_symbols() -> str:
    """A character class body of the "other symbol" (``So``) characters of the Basic Multilingual Plane (as
    ranges, so that ``re`` tests them with one table lookup); emoji are :data:`_EMOJI`."""
    chars = "".join(map(chr, (*range(0xA0, 0x3400), *range(0xFE00, 0x10000))))
    runs: list[list[int]] = []
    for char, category in zip(chars, map(unicodedata.category, chars)):
        if category == "So":
            code = ord(char)
            if runs and runs[-1][1] == code - 1:
                runs[-1][1] = code
            else:
                runs.append([code, code])
    return "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in runs)


_ICONS = _other_symbols()
_EMOJI = "[\U0001f000-\U0001faff]"
_UNITS = (  # noqa: SIM905
    "km km² km³ m m² m³ dm dm² dm³ cm cm² cm³ mm mm² mm³ ha µm nm yd in ft kg g mg µg t lb oz m/s km/h "
    "kmh mph hPa Pa mbar mb MB kb KB gb GB tb TB T G M K %").split()

_PREFIX = re.compile(rf"(?:[§%=—–]|\+(?![0-9])|\.\.+|[{_PUNCT}{_QUOTES}{_CURRENCY}{_ICONS}]|{_EMOJI}|US\$|C\$|A\$)")
_SUFFIX = re.compile(
    rf"(?:\.\.+|[{_PUNCT}{_QUOTES}{_ICONS}]|{_EMOJI}|['’][sS]|[—–]|(?<=[0-9])\+|(?<=°[FfCcKk])\."
    rf"|(?<=[0-9])[{_CURRENCY}]|(?<=[0-9])(?:{'|'.join(map(re.escape, sorted(_UNITS, key=len, reverse=True)))})"
    rf"|(?<=[0-9{_LOWER}%²\-+|{_PUNCT}{_QUOTES}])\.|(?<=[{_UPPER}][{_UPPER}])\.)$"
)
_INFIX = re.compile(
    rf"(?=[.…,:<>=/+*^~\-–—{_ICONS}]|{_EMOJI})(?:\.\.+|…|[{_ICONS}]|{_EMOJI}|(?<=[0-9])[+\-*^](?=[0-9-])"
    rf"|(?<=[{_LOWER}{_QUOTES}])\.(?=[{_UPPER}{_QUOTES}])|(?<={_ALPHA}),(?={_ALPHA})"
    rf"|(?<=[^\W_])(?:---|--|——|[-–—~])(?={_ALPHA})|(?<=[^\W_])[:<>=/](?={_ALPHA}))"
)
_URL = re.compile(r"(?:[\w+.-]{2,}://)?(?:\S+@)?(?:(?:(?:[A-Za-z0-9\u00a1-\uffff][\w\u00a1-\uffff-]{0,62})?"
                  r"[A-Za-z0-9\u00a1-\uffff]\.)+[a-z]{2,63}|\d{1,3}(?:\.\d{1,3}){3})(?::\d{2,5})?(?:[/?#]\S*)?")
_CLOCK = re.compile(r"(1[0-2]|[1-9])(am|pm)")
_ABBREVIATIONS = frozenset((  # noqa: SIM905
    "Adm. Bros. Co. co. Corp. Dr. Gen. Gov. Inc. Jr. Ltd. Messrs. Mr. Mrs. Ms. Mt. Ph.D. Prof. Rep. Rev. Sen. "
    "St. vs. v.s. e.g. E.g. E.G. i.e. I.e. I.E. a.m. p.m. D.C. Jan. Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. "
    "Oct. Nov. Dec. Ak. Ala. Ariz. Ark. Calif. Colo. Conn. Del. Fla. Ga. Ia. Id. Ill. Ind. Kan. Kans. Ky. La. "
    "Mass. Md. Mich. Minn. Miss. Mo. Mont. N.C. N.D. N.H. N.J. N.M. N.Y. Neb. Nebr. Nev. Okla. Ore. Pa. S.C. "
    "Tenn. Va. Wash. Wis. ä. ö. ü. '' C++ and/or w/o 's 'S ’s ’S 'd ’d 'll 're 'em ol' 'cause 'Cause ma'am o'clock "
    "'bout goin' doin' havin' lovin' nothin' nuthin' somethin' goin’ doin’ havin’ lovin’ nothin’ nuthin’ "
    "somethin’").split()
    + [f"{c}." for c in "abcdefghijklmnopqrstuvwxyz"]
)
_EMOTICONS = frozenset((  # noqa: SIM905
    "): :) (: :( ;) (; :] [: ]= =] [= =[ =) (= =( :/ =/ :| =| :} :> :* :(( :)) :((( :))) ;_; -_- -__- ^_^ ^__^ "
    "<3 <33 <333 </3 >.< >.> <.< '' :-) :-( :-)) :-(( :-))) :-((( :-/ :-| :-] :-} :-* :-> :-0 :-3 ;-) ;-D :'( "
    ":') :'-( :'-) 8) 8-) 8D 8-D (-: )-: (-; (-8 (= [-: :0 :1 :3 =3 =| =D :D :P :p :O :o :X :x :-D :-P :-p :-O "
    ":-o :-X :-x :o) xD XD o.O O.o o.o O.O 0.0 0_0 o_O O_o o_o O_O >:( >:o @_@").split()
)
_MERGED = _ABBREVIATIONS | _EMOTICONS
_MERGE_HINT = re.compile("[:;=_<>'.)(]")


def _contractions() -> dict[str, tuple[str, ...]]:
    """Contractions spaCy's English exceptions split: ``don't`` -> ``do n't``, also without the apostrophe."""
    forms: dict[tuple[str, ...], None] = {}
    clitics = {"d": ("d", "d ve"), "ll": ("ll", "ll ve"), "m": ("m",), "re": ("re",), "s": ("s",), "ve": ("ve",)}
    pronouns = {"i": "m d ll ve", "he": "d ll s", "she": "d ll s", "it": "d ll s", "that": "d ll s",
                "this": "d ll s", "let": "s", **dict.fromkeys(("you", "we", "they", "these", "those"), "d ll re ve"),
                **dict.fromkeys(("there", "what", "when", "where", "who", "why", "how"), "d ll re s ve")}
    for base, names in pronouns.items():
        for name in names.split():
            for clitic in clitics[name]:
                forms[(base, *clitic.split())] = None
    for base in ("ai", "are", "dare", "has", "have", "is", "was", "were"):
        forms[(base, "nt")] = None
    for base in ("ca", "could", "did", "do", "does", "had", "may", "might", "must", "need", "ought", "sha", "should",
                 "wo", "would"):
        forms[(base, "nt")] = forms[(base, "nt", "ve")] = None
    for base in ("could", "might", "must", "should", "would", "not"):
        forms[(base, "ve")] = None
    table: dict[str, tuple[str, ...]] = {}
    ambiguous = {"ill", "its", "hell", "shell", "shed", "were", "well", "whore", "lets"}
    for parts in forms:
        for cased in (parts, (parts[0].capitalize(), *parts[1:])):
            for apostrophe in ("'", "’"):
                marked = tuple(p if i == 0 else ("n" + apostrophe + "t" if p == "nt" else apostrophe + p)
                               for i, p in enumerate(cased))
                table["".join(marked)] = marked
            if "".join(parts) not in ambiguous:
                table["".join(cased)] = cased
    return table


_SPECIAL_WORDS = {**_contractions(), "cannot": ("can", "not"), "Cannot": ("Can", "not"), "gonna": ("gon", "na"),
                  "gotta": ("got", "ta"), "Gonna": ("Gon", "na"), "Gotta": ("Got", "ta"), "y'all": ("y'", "all"),
                  "c'mon": ("c'm", "on")}
_SENTENCE_END = frozenset(".!?։؟۔܀܁܂।॥።፧፨。｡！？．‼⁇⁈⁉︒﹒﹖﹗")


_SPECIALS: dict[str, tuple[str, ...]] = {**_SPECIAL_WORDS, **{piece: (piece,) for piece in _MERGED}}
"""Special cases by piece: a merged form (an abbreviation or emoticon) stays whole, else a contraction splits."""
_MERGE_PREFIXES = frozenset(entry[:end] for entry in _MERGED for end in range(1, len(entry)))
"""The first token of any tokens that :func:`_merge_specials` joins is one of these."""


def _special(piece: str) -> tuple[str, ...] | None:
    found = _SPECIALS.get(piece)
    if found is None and piece[-1] == "m" and piece[0].isdigit() and (match := _CLOCK.fullmatch(piece)):
        return match.groups()
    return found


def _split_infixes(piece: str) -> list[str]:
    tokens: list[str] = []
    start = 0
    for match in _INFIX.finditer(piece):
        if match.start() == 0:
            continue
        if match.start() != start:
            tokens.append(piece[start:match.start()])
        if match.end() != match.start():
            tokens.append(match.group())
        start = match.end()
    if start < len(piece):
        tokens.append(piece[start:])
    return tokens


def _merge_specials(tokens: list[str]) -> list[str]:
    merged: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i] in _MERGE_PREFIXES:
            for width in (3, 2):
                if i + width <= len(tokens) and "".join(tokens[i:i + width]) in _MERGED:
                    merged.append("".join(tokens[i:i + width]))
                    i += width
                    break
            else:
                merged.append(tokens[i])
                i += 1
        else:
            merged.append(tokens[i])
            i += 1
    return merged


def _suffix_length(rest: str, pre: int) -> int:
    """Length of the suffix of ``rest[pre:]``; only the last characters are searched, as no suffix but a run
    of dots is longer than 8."""
    tail = len(rest) - 8
    if tail <= pre:
        suffix = _SUFFIX.search(rest[pre:])
        return len(rest) - pre - suffix.start() if suffix else 0
    suffix = _SUFFIX.search(rest, tail)
    if not suffix:
        return 0
    start = suffix.start()
    if start == tail and rest[start] == ".":
        start = max(pre, len(rest[:start].rstrip(".")))
    return len(rest) - start


_PLAIN_ENDS = frozenset(",;:!?)\"'")
"""Punctuation that is always split off the end of a plain word as one token (with ``.`` after ``a-z``)."""
_ASCII_LOWER = frozenset("abcdefghijklmnopqrstuvwxyz")


def _split_piece(piece: str) -> tuple[str, ...]:
    """The words of one whitespace-separated piece (uncached: :data:`_piece_words` remembers them)."""
    if piece.isalpha():
        return _SPECIAL_WORDS.get(piece, (piece,))
    if _is_plain_word_and_end(piece):
        return piece[:-1], piece[-1]
    if (dashed := _dashed_words(piece)) is not None:
        return dashed
    return _split_rules(piece)


def _is_plain_word_and_end(piece: str) -> bool:
    """Whether the rules split ``piece`` into a word of letters and a punctuation mark after it (``word,``),
    known without running them: no letter starts a prefix, ends a suffix or makes an infix or a URL, so
    only special cases (``dont,`` ``xD,`` ``Mr.``) and ``.`` (split off after a lower-case letter, kept
    after ``A``) need the rules."""
    core, end = piece[:-1], piece[-1]
    return ((end in _PLAIN_ENDS or (end == "." and core[-1:] in _ASCII_LOWER)) and core.isalpha()
            and core not in _SPECIAL_WORDS and core not in _MERGED and piece not in _MERGED
            and piece not in _SPECIAL_WORDS)


def _dashed_words(piece: str) -> tuple[str, ...] | None:
    """``well-known`` -> ``well - known``: words of letters joined by single dashes of one kind (``-``, ``–``
    or ``—``), each dash an infix between letters; None for any other piece (or a special case)."""
    for dash in _DASHES:
        if dash in piece:
            parts = piece.split(dash)
            if not all(map(str.isalpha, parts)) or piece in _MERGED or piece in _SPECIAL_WORDS:
                return None
            return tuple(chain.from_iterable(zip(parts, repeat(dash))))[:-1]
    return None


_DASHES = ("-", "–", "—")


def _split_rules(piece: str) -> tuple[str, ...]:
    """The words of ``piece`` by the prefix, suffix, infix and special-case rules."""
    if (special := _special(piece)) is not None:
        return special
    prefixes: list[str] = []
    suffixes: list[str] = []
    rest = piece
    last = ""
    while rest and rest != last:
        last = rest
        prefix = _PREFIX.match(rest)
        pre = prefix.end() if prefix else 0
        if pre and rest[pre:] and _special(rest[pre:]) is not None:
            prefixes.append(rest[:pre])
            rest = rest[pre:]
            break
        suf = _suffix_length(rest, pre)
        if suf and rest[:-suf] and _special(rest[:-suf]) is not None:
            suffixes.append(rest[-suf:])
            rest = rest[:-suf]
            break
        if pre and suf and pre + suf <= len(rest):
            prefixes.append(rest[:pre])
            suffixes.append(rest[-suf:])
            rest = rest[pre:-suf]
        elif pre:
            prefixes.append(rest[:pre])
            rest = rest[pre:]
        elif suf:
            suffixes.append(rest[-suf:])
            rest = rest[:-suf]
        if rest and _special(rest) is not None:
            break
    tokens = prefixes
    if rest:
        if (special := _special(rest)) is not None:
            tokens.extend(special)
        elif rest.isalpha() or (rest.isascii() and rest.isdigit()):  # no URL (no "."), no infix
            tokens.append(rest)
        elif _URL.fullmatch(rest):
            tokens.append(rest)
        else:
            tokens.extend(_split_infixes(rest))
    tokens.extend(reversed(suffixes))
    if len(tokens) > 1 and _MERGE_HINT.search(piece):
        tokens = _merge_specials(tokens)
    return tuple(tokens)


class PieceCache(dict[str, T]):
    """``compute(piece)`` by piece, computed on the first lookup (``cache[piece]``) and kept: a dictionary whose
    ``__getitem__``, mapped over a text's pieces, costs one hash lookup per piece (less than ``lru_cache``, which
    also reorders its entries). It is emptied when it holds ``limit`` entries, so its memory stays bounded."""

    def __init__(self, compute: Callable[[str], T], limit: int = 1 << 18) -> None:
        super().__init__()
        self.compute = compute
        self.limit = limit

    def __missing__(self, piece: str) -> T:
        if len(self) >= self.limit:
            self.clear()
        value = self[piece] = self.compute(piece)
        return value


_PIECE_WORDS: PieceCache[tuple[str, ...]] = PieceCache(_split_piece)
_piece_words = _PIECE_WORDS.__getitem__
"""The words of a piece (:func:`_split_piece`), remembered."""


def split_words(text: str) -> list[str]:
    """The words of ``text`` as spaCy's blank English tokenizer would give them, punctuation split off.

    ``"Don't stop... #growth"`` -> ``["Do", "n't", "stop", "...", "#", "growth"]``. Whitespace never
    appears in a word and no word is empty.
    """
    return list(chain.from_iterable(map(_piece_words, text.split())))


@lru_cache(maxsize=4)
def words_of(text: str) -> tuple[str, ...]:
    """:func:`split_words` as a tuple, remembered for the last few texts, so that the taggers of one
    document split it once."""
    return tuple(chain.from_iterable(map(_piece_words, text.split())))


def _token_class(token: str) -> str:
    if token in _SENTENCE_END:
        return "e"
    if token.isalnum():  # no letter or digit is punctuation
        return "w"
    return "p" if all(unicodedata.category(char)[0] == "P" for char in token) else "w"


def _classes_of_piece(piece: str) -> str:
    """The classes of the words of a whitespace-separated piece: ``e`` (ends a sentence), ``p`` (other
    punctuation) or ``w``, one letter per word."""
    return "".join(map(_token_class, _piece_words(piece)))


_piece_classes = PieceCache(_classes_of_piece).__getitem__
""":func:`_classes_of_piece`, remembered."""


_NEW_SENTENCE = re.compile("e[ep]*w")
_OPEN_AT_END = re.compile("e[ep]*$")
_END_MARKS = re.escape("".join(sorted(_SENTENCE_END)))
_END_MARK = re.compile(f"[{_END_MARKS}]")
_PIECE = re.compile(r"\S+")
_REST_OF_PIECE = re.compile(r"\S*")
_SPACE = re.compile(r"\s")


def _summarize_end_piece(piece: str) -> tuple[int, bool, bool, bool]:
    """What a piece does to the sentence count: the sentences its words start by themselves, whether a
    sentence left open before it closes at its first ``w`` (one comes before any ``e``), whether it leaves
    a sentence open, and whether it has a ``w`` at all."""
    classes = _piece_classes(piece)
    first_end = classes.find("e")
    first_word = classes.find("w")
    closes = first_word != -1 and (first_end == -1 or first_word < first_end)
    return (len(_NEW_SENTENCE.findall(classes)), closes, _OPEN_AT_END.search(classes) is not None,
            first_word != -1)


_end_piece_summary = PieceCache(_summarize_end_piece, 1 << 16).__getitem__
""":func:`_summarize_end_piece`, remembered."""


def _has_word(text: str, start: int, end: int) -> bool:
    """Whether a piece of ``text[start:end]`` (whole pieces, none with a sentence-final mark) has a ``w``."""
    for match in _PIECE.finditer(text, start, end):
        if "w" in _piece_classes(match.group()):
            return True
    return False


def count_sentences(text: str) -> int:
    """How many sentences spaCy's rule-based ``sentencizer`` finds in ``text`` (0 for blank text).

    A sentence ends at a sentence-final punctuation token (``.``, ``!``, ``?`` and their equivalents in other
    scripts); the next one starts at the first following token that is not punctuation. Only the pieces
    holding a sentence-final mark, and those after one up to the first word, are split into words: the
    count equals :func:`sentences_in_pieces` of ``text.split()``.
    """
    if not text or text.isspace():
        return 0
    found = 1
    open_end = False  # a sentence ended and no word has come since
    resume = end = 0
    for mark in _END_MARK.finditer(text):  # each piece holding a mark: only those have an ``e`` word
        at = mark.start()
        if at < end:  # a second mark in the same piece
            continue
        start = max(end, text.rfind(" ", end, at) + 1)
        if _SPACE.search(text, start, at):  # other whitespace than " " (rare)
            for space in _SPACE.finditer(text, start, at):
                start = space.end()
        end = _REST_OF_PIECE.match(text, at).end()
        inner, closes, ends_open, has_word = _end_piece_summary(text[start:end])
        if open_end and _has_word(text, resume, start):
            found += 1
            open_end = False
        found += inner + (open_end and closes)
        open_end = ends_open or (open_end and not has_word)
        resume = end
    if open_end and _has_word(text, resume, len(text)):
        found += 1
    return found


def sentences_in_pieces(pieces: Iterable[str]) -> int:
    """:func:`count_sentences` of a text given as its whitespace-separated pieces (``text.split()``), by
    the classes of all their words."""
    classes = "".join(map(_piece_classes, pieces))
    if not classes:
        return 0
    return 1 + len(_NEW_SENTENCE.findall(classes))
