"""Independent references for the rule taggers' tests: datatrove 0.10.1's and dolma 1.2.1's definitions read
literally (loops, early returns, one rule after another), written apart from the taggers' implementation.
Words come from the tagger's splitter, which its own tests check against spaCy's output."""

from __future__ import annotations

import ast
import io
import re
import statistics
import tokenize
import warnings

from olmo_data.taggers.gopher import SYMBOLS
from olmo_data.taggers.words import count_sentences, split_words


def gopher_quality(text: str) -> tuple[str, dict[str, float]]:
    """datatrove's GopherQualityFilter with its defaults: (reason or "", values)."""
    words = split_words(text)
    counted = [w for w in words if any(ch not in SYMBOLS for ch in w)]
    lines = text.splitlines()
    values = {
        "word_count": len(counted),
        "mean_word_length": statistics.fmean(len(w) for w in counted) if counted else 0.0,
        "hash_ratio": text.count("#") / len(words) if words else 0.0,
        "ellipsis_ratio": (text.count("...") + text.count("…")) / len(words) if words else 0.0,
        "bullet_lines_ratio": sum(1 for s in lines if s.lstrip().startswith("•") or s.lstrip().startswith("-"))
        / len(lines) if lines else 0.0,
        "ellipsis_lines_ratio": sum(1 for s in lines if s.rstrip().endswith("...") or s.rstrip().endswith("…"))
        / len(lines) if lines else 0.0,
        "alpha_words_ratio": sum(1 for w in words if any(c.isalpha() for c in w)) / len(words) if words else 0.0,
        "stop_word_count": len({"the", "be", "to", "of", "and", "that", "have", "with"} & set(words)),
    }
    if values["word_count"] < 50:
        return "gopher_short_doc", values
    if values["word_count"] > 100000:
        return "gopher_long_doc", values
    if values["mean_word_length"] < 3:
        return "gopher_below_avg_threshold", values
    if values["mean_word_length"] > 10:
        return "gopher_above_avg_threshold", values
    if values["hash_ratio"] > 0.1:
        return "gopher_too_many_hashes", values
    if values["ellipsis_ratio"] > 0.1:
        return "gopher_too_many_ellipsis", values
    if values["bullet_lines_ratio"] > 0.9:
        return "gopher_too_many_bullets", values
    if values["ellipsis_lines_ratio"] > 0.3:
        return "gopher_too_many_end_ellipsis", values
    if values["alpha_words_ratio"] < 0.8:
        return "gopher_below_alpha_threshold", values
    if values["stop_word_count"] < 2:
        return "gopher_enough_stop_words", values
    return "", values


def _dups(items: list[str]) -> tuple[int, int]:
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


def _top(words: list[str], n: int) -> int:
    grams = [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0
    counts: dict[str, int] = {}
    for gram in grams:
        counts[gram] = counts.get(gram, 0) + 1
    best = grams[0]
    for gram in grams:
        if counts[gram] > counts[best]:
            best = gram
    return len(best) * counts[best]


def _repeated(words: list[str], n: int) -> int:
    seen: set[str] = set()
    repeated = idx = 0
    while idx < len(words) - n + 1:
        gram = "".join(words[idx:idx + n])
        if gram in seen:
            repeated += len(gram)
            idx += n
        else:
            seen.add(gram)
            idx += 1
    return repeated


REPETITION_LIMITS = {"dup_para_frac": 0.3, "dup_para_char_frac": 0.2, "dup_line_frac": 0.3,
                     "dup_line_char_frac": 0.2, "top_2_gram_char_frac": 0.2, "top_3_gram_char_frac": 0.18,
                     "top_4_gram_char_frac": 0.16, "dup_5_gram_char_frac": 0.15, "dup_6_gram_char_frac": 0.14,
                     "dup_7_gram_char_frac": 0.13, "dup_8_gram_char_frac": 0.12, "dup_9_gram_char_frac": 0.11,
                     "dup_10_gram_char_frac": 0.10}


def gopher_repetition(text: str) -> tuple[str, dict[str, float]]:
    """datatrove's GopherRepetitionFilter with its defaults: (reason or "", values)."""
    if not text:
        return "empty", {}
    paragraphs = re.split(r"\n{2,}", text.strip())
    lines = re.split("\n+", text)
    words = split_words(text)
    p_count, p_chars = _dups(paragraphs)
    l_count, l_chars = _dups(lines)
    values = {"dup_para_frac": p_count / len(paragraphs), "dup_para_char_frac": p_chars / len(text),
              "dup_line_frac": l_count / len(lines), "dup_line_char_frac": l_chars / len(text)}
    for n in (2, 3, 4):
        values[f"top_{n}_gram_char_frac"] = _top(words, n) / len(text)
    for n in range(5, 11):
        values[f"dup_{n}_gram_char_frac"] = _repeated(words, n) / len(text)
    reasons = ["dup_para_frac", "dup_para_char_frac", "dup_line_frac", "dup_line_char_frac",
               *(f"top_{n}_gram" for n in (2, 3, 4)), *(f"duplicated_{n}_n_grams" for n in range(5, 11))]
    for (name, value), reason in zip(values.items(), reasons, strict=True):
        if value > REPETITION_LIMITS[name]:
            return reason, values
    return "", values


def c4(text: str) -> tuple[str, list[str]]:
    """datatrove's C4QualityFilter with its defaults: (reason or "", the kept lines)."""
    kept = []
    sentences = 0
    for line in text.splitlines():
        line = line.strip()
        words = line.split()
        if any(len(word) > 1000 for word in words):
            continue
        line = re.sub(r"\[\d*]|\[edit]|\[citation needed]", "", line)
        if not line.endswith((".", "?", "!", '"', "'")) or line.endswith("..."):
            continue
        if len(words) < 3:
            continue
        lower = line.lower()
        if "lorem ipsum" in lower:
            return "lorem_ipsum", kept
        if "javascript" in lower:
            continue
        if "{" in line:
            return "curly_bracket", kept
        if any(p in lower for p in ("terms of use", "privacy policy", "cookie policy", "uses cookies",
                                    "use of cookies", "use cookies")):
            continue
        sentences += count_sentences(line)
        kept.append(line)
    return ("too_few_sentences" if sentences < 5 else ""), kept


def code_values(text: str, python: bool) -> dict[str, float]:
    """dolma's code_redpajama_taggers_v1 values and code_starcoder_taggers_v2's Python comment ratio."""
    lines = text.splitlines()
    values = {
        "max_line_length": max((len(line) for line in lines), default=0),
        "avg_line_length": statistics.fmean(len(line) for line in lines) if lines else 0.0,
        "alnum_fraction": sum(1 for c in text if c.isalnum()) / len(text) if text else 0.0,
        "alpha_token_ratio": sum(1 for c in text if c.isalpha()) / len(re.split(r"\w+|[^\w\s]+", text)),
        "xml_header": int("<?xml version=" in text[:100]),
    }
    if python:
        comments = "".join(tok.string for tok in tokenize.generate_tokens(io.StringIO(text).readline)
                           if tok.type == tokenize.COMMENT).replace("#", "")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
        docstrings = [ast.get_docstring(node) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))]
        natural = ("\n".join(d for d in docstrings if d) + "\n" + comments).strip()
        values["comment_fraction"] = len(natural) / len(text)
    return values
