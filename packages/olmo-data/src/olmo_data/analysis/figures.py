"""The PNG figures of ``olmo data stats``, drawn with olmo's shared plot helpers.

Figures, by path under the output directory:

- ``documents.png``, ``bytes.png``, ``tokens.png``: bars per source (tokens only with a tokenizer);
- ``lengths/<source>.png``: one source's histogram of document lengths in characters and in tokens;
- ``lengths/characters.png``, ``lengths/tokens.png``: every source's length distribution as a line over
  power-of-two buckets, in percent of its documents, so that small sources compare with large ones;
- ``ngrams/<source>-unigrams.png`` (``bigrams``, ``trigrams``, ``<n>-grams``): the top n-grams as horizontal
  bars, per source and for all of them (``overall-...``);
- ``languages.png``: the language mix per source, when ``attributes/language`` exists;
- ``pii.png``: PII spans of each kind per source, when ``attributes/pii`` exists.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from olmo_core.plots import bar_plot, histogram, line_plot

__all__ = ["LANGUAGES_SHOWN", "draw_figures", "file_names"]

LANGUAGES_SHOWN = 4
"""The most common languages drawn in the language mix; the rest are drawn as ``other``."""
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NGRAM_NAMES = {1: "unigrams", 2: "bigrams", 3: "trigrams"}


def file_names(sources: list[str]) -> dict[str, str]:
    """A distinct, file-safe name for each source, never ``overall``, ``characters`` or ``tokens``."""
    taken = {"overall", "characters", "tokens"}
    names = {}
    for source in sources:
        base = _UNSAFE.sub("_", source).strip("_") or "source"
        name, i = base, 1
        while name in taken:
            i += 1
            name = f"{base}-{i}"
        taken.add(name)
        names[source] = name
    return names


def _sizes(out: Path, sources: Mapping[str, dict[str, Any]]) -> list[Path]:
    drawn = [bar_plot(out / "documents.png", {s: r["documents"] for s, r in sources.items()},
                      title="Documents per source", ylabel="documents"),
             bar_plot(out / "bytes.png", {s: r["bytes"] / 1e6 for s, r in sources.items()},
                      title="UTF-8 bytes of text per source", ylabel="MB")]
    if all(r["tokens"] is not None for r in sources.values()):
        drawn.append(bar_plot(out / "tokens.png", {s: r["tokens"] / 1e6 for s, r in sources.items()},
                              title="Tokens per source", ylabel="million tokens"))
    return drawn


def _buckets(summary: dict[str, Any]) -> Counter[int]:
    counts: Counter[int] = Counter()
    for low, _, n in summary["histogram"]:
        counts[max(low, 1).bit_length() - 1] += n
    return counts


def _distributions(summaries: Mapping[str, dict[str, Any]]) -> dict[str, tuple[list[float], list[float]]]:
    buckets = {s: _buckets(summary) for s, summary in summaries.items()}
    xs = range(min(min(b) for b in buckets.values()), max(max(b) for b in buckets.values()) + 1)
    return {s: ([float(x) for x in xs], [100 * b.get(x, 0) / b.total() for x in xs]) for s, b in buckets.items()}


def _lengths(out: Path, sources: Mapping[str, dict[str, Any]],
             lengths: Mapping[str, tuple[array[int], array[int] | None]], names: dict[str, str]) -> list[Path]:
    drawn = []
    for unit in ("characters", "tokens"):
        if all(r["lengths"][unit] for r in sources.values()):
            series = _distributions({s: r["lengths"][unit] for s, r in sources.items()})
            drawn.append(line_plot(out / "lengths" / f"{unit}.png", series,
                                   title=f"Document length in {unit}, per source",
                                   xlabel=f"log2 of {unit} (documents of 2^x up to 2^(x+1) {unit})",
                                   ylabel="% of the source's documents"))
    for source, (characters, tokens) in lengths.items():
        samples = {"characters": characters, **({"tokens": tokens} if tokens is not None else {})}
        drawn.append(histogram(out / "lengths" / f"{names[source]}.png", samples,
                               title=f"{source}: document length", xlabel="length (log scale)", logx=True))
    return drawn


def _ngrams(out: Path, reports: list[tuple[str, str, dict[str, Any]]]) -> list[Path]:
    drawn = []
    for source, file_name, report in reports:
        for n, entries in report["ngrams"].items():
            if entries:
                name = _NGRAM_NAMES.get(int(n), f"{n}-grams")
                drawn.append(bar_plot(out / "ngrams" / f"{file_name}-{name}.png",
                                      {text: count for text, count in entries},
                                      title=f"{source}: top {len(entries)} {name}", ylabel="occurrences",
                                      horizontal=True))
    return drawn


def _languages(out: Path, sources: Mapping[str, dict[str, Any]], overall: dict[str, Any]) -> list[Path]:
    shown = list(overall["languages"]["counts"])[:LANGUAGES_SHOWN]
    tagged = {s: r["languages"] for s, r in sources.items() if r["languages"]["documents"]}
    mix: dict[str, dict[str, float]] = {k: dict.fromkeys(tagged, 0.0) for k in [*shown, "other"]}
    for source, languages in tagged.items():
        for language, count in languages["counts"].items():
            mix[language if language in shown else "other"][source] += 100 * count / languages["documents"]
    ordered = {k: v for k, v in mix.items() if any(v.values())}
    return [bar_plot(out / "languages.png", ordered, title="Language mix per source (tagged documents)",
                     ylabel="% of documents", horizontal=True)]


def _pii(out: Path, sources: Mapping[str, dict[str, Any]]) -> list[Path]:
    kinds = sorted({k for r in sources.values() for k in r["pii"]["spans"]})
    values = {kind: {s: r["pii"]["spans"].get(kind, 0) for s, r in sources.items() if r["pii"]["documents"]}
              for kind in kinds}
    return [bar_plot(out / "pii.png", values, title="PII spans per source", ylabel="spans")] if kinds else []


def draw_figures(output: str, sources: Mapping[str, dict[str, Any]], overall: dict[str, Any],
                 lengths: Mapping[str, tuple[array[int], array[int] | None]]) -> list[str]:
    """Draw every figure into ``output`` (a local directory); the paths written, relative to it, sorted."""
    out = Path(output)
    names = file_names(list(sources))
    drawn = [*_sizes(out, sources), *_lengths(out, sources, lengths, names)]
    drawn += _ngrams(out, [*((s, names[s], r) for s, r in sources.items()), ("all sources", "overall", overall)])
    if overall["languages"]["documents"]:
        drawn += _languages(out, sources, overall)
    if overall["pii"]["documents"]:
        drawn += _pii(out, sources)
    return sorted(p.relative_to(out).as_posix() for p in drawn)
