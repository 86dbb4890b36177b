from __future__ import annotations

import gzip
import io
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from olmo_core.documents import Document
from olmo_core.tokenizer import load_tokenizer

from tests.data.analysis.conftest import by_source, write_documents

PNG = b"\x89PNG\r\n\x1a\n"


def scan_words(text: str) -> list[str]:
    """Words by scanning characters: alphanumerics and underscores, apostrophes only between them."""
    text = text.casefold()
    found: list[str] = []
    current: list[str] = []
    for i, ch in enumerate(text):
        inner = ch in "'’" and current and i + 1 < len(text) and (text[i + 1].isalnum() or text[i + 1] == "_")
        if ch.isalnum() or ch == "_" or inner:
            current.append(ch)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return found


def ranked(counter: Counter[str], k: int) -> list[list[Any]]:
    return [[w, c] for w, c in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:k]]


def duplicate_count(items: list[str]) -> int:
    return len(items) - len(set(items))


def lines_of(text: str) -> list[str]:
    return [line.strip() for line in io.StringIO(text, newline="\n") if line.strip()]


def run_stats(olmo_cli: Any, *args: str) -> tuple[Any, dict[str, Any]]:
    result = olmo_cli("data", "stats", *args)
    assert result.exit_code == 0, result.err
    output = next(a.split("=", 1)[1] for a in args if a.startswith("output="))
    return result, json.loads((Path(output) / "stats.json").read_text())


def expected_entry(documents: list[Document], tokens: list[int]) -> dict[str, Any]:
    texts = [d.text for d in documents]
    words = [scan_words(t) for t in texts]
    return {
        "documents": len(texts), "bytes": sum(len(t.encode("utf-8")) for t in texts),
        "characters": sum(len(t) for t in texts), "words": sum(len(w) for w in words), "tokens": sum(tokens),
        "unigrams": Counter(w for ws in words for w in ws),
        "trigrams": Counter(" ".join(g) for ws in words for g in zip(ws, ws[1:], ws[2:], strict=False)),
        "duplicate_documents": duplicate_count(texts),
        "duplicate_paragraphs": duplicate_count([p for t in texts for p in lines_of(t)]),
        "paragraphs": sum(len(lines_of(t)) for t in texts),
    }


def test_counts_equal_a_direct_computation(analysis: None, corpus: Path, olmo_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "stats"
    result, stats = run_stats(olmo_cli, f"input={corpus}", f"output={out}")
    tokenizer = load_tokenizer("olmo-v1.5")
    sources = by_source()
    assert list(stats["sources"]) == sorted(sources)
    assert (stats["files"], stats["records"], stats["quarantined"]) == (5, 131, 0)
    assert stats["tokenizer"]["name"] == "olmo-v1.5" and stats["tokenizer"]["vocab_size"] == tokenizer.vocab_size
    every: list[Document] = []
    for name, documents in sources.items():
        every += documents
        entry = stats["sources"][name]
        tokens = [len(tokenizer.encode(d.text)) for d in documents]
        expected = expected_entry(documents, tokens)
        for key in ("documents", "bytes", "characters", "words", "tokens"):
            assert entry[key] == expected[key], (name, key)
        assert entry["ngrams"]["1"] == ranked(expected["unigrams"], 20)
        assert entry["ngrams"]["3"] == ranked(expected["trigrams"], 20)
        assert entry["duplicates"]["documents"]["duplicates"] == expected["duplicate_documents"]
        assert entry["duplicates"]["paragraphs"]["duplicates"] == expected["duplicate_paragraphs"]
        assert entry["duplicates"]["paragraphs"]["total"] == expected["paragraphs"]
        lengths = sorted(len(d.text) for d in documents)
        summary = entry["lengths"]["characters"]
        assert (summary["min"], summary["max"]) == (lengths[0], lengths[-1])
        assert summary["median"] == lengths[math.ceil(len(lengths) / 2) - 1]
        assert sum(n for _, _, n in summary["histogram"]) == len(documents)
        assert entry["lengths"]["tokens"]["max"] == max(tokens)
        assert entry["languages"] == {"status": "not tagged", "documents": 0, "counts": {}}
        assert entry["pii"]["status"] == "not tagged"
    c4 = stats["sources"]["c4"]["duplicates"]["documents"]
    assert (c4["duplicates"], c4["repeated"], c4["total"]) == (1, 1, 41)
    overall = expected_entry(every, [stats["sources"][s]["tokens"] for s in sources])
    assert stats["overall"]["documents"] == overall["documents"] == 131
    assert stats["overall"]["bytes"] == overall["bytes"] and stats["overall"]["words"] == overall["words"]
    assert stats["overall"]["ngrams"]["1"] == ranked(overall["unigrams"], 20)
    assert stats["overall"]["ngrams"]["2"][0] == ["of the", stats["overall"]["ngrams"]["2"][0][1]]
    assert "not tagged" in result.out and "moby-dick" in result.out and "131 documents" in result.err

    names = {"c4", "moby-dick", "spam-assassin", "wikipedia-fr", "overall"}
    promised = {"documents.png", "bytes.png", "tokens.png", "lengths/characters.png", "lengths/tokens.png",
                *(f"lengths/{s}.png" for s in names - {"overall"}),
                *(f"ngrams/{s}-{n}.png" for s in names for n in ("unigrams", "bigrams", "trigrams"))}
    assert set(stats["figures"]) == promised
    written = {p.relative_to(out).as_posix() for p in out.rglob("*.png")}
    assert written == promised
    for figure in promised:
        assert (out / figure).read_bytes()[:8] == PNG, figure


def test_languages_and_pii_come_from_the_attributes(analysis: None, corpus: Path, olmo_cli: Any,
                                                   tmp_path: Path) -> None:
    tagged = olmo_cli("data", "tag", f"input={corpus}", "taggers=[language,pii]")
    assert tagged.exit_code == 0, tagged.err
    (corpus / "attributes" / "language" / "c4" / "part-1.jsonl").unlink()
    out = tmp_path / "stats"
    _, stats = run_stats(olmo_cli, f"input={corpus}", f"output={out}", "tokenizer=null", "ngrams=[1]", "top_k=5")
    expected: dict[str, Counter[str]] = {}
    spans: dict[str, Counter[str]] = {}
    for attributes in sorted((corpus / "attributes").rglob("*.jsonl*")):
        data = attributes.read_bytes()
        text = gzip.decompress(data) if attributes.suffix == ".gz" else data
        for row in map(json.loads, text.decode("utf-8").splitlines()):
            for key, values in row["attributes"].items():
                if key == "language__language__top":
                    expected.setdefault(row["source"], Counter())[values[0][2]] += 1
                elif key.startswith("pii__pii__") and key != "pii__pii__doc_count":
                    spans.setdefault(row["source"], Counter())[key.removeprefix("pii__pii__")] += len(values)
    for name, entry in stats["sources"].items():
        assert entry["tokens"] is None and entry["lengths"]["tokens"] is None
        assert entry["languages"]["counts"] == dict(expected[name]), name
        assert entry["pii"]["spans"] == dict(spans[name]), name
        assert entry["pii"]["status"] == "tagged"
    c4 = stats["sources"]["c4"]["languages"]
    assert (c4["status"], c4["documents"]) == ("partly tagged", 25)
    assert stats["sources"]["moby-dick"]["languages"]["status"] == "tagged"
    assert next(iter(stats["sources"]["wikipedia-fr"]["languages"]["counts"])) == "fr"
    assert stats["sources"]["spam-assassin"]["pii"]["documents_with_pii"] > 0
    assert stats["overall"]["pii"]["spans"] == dict(sum(spans.values(), Counter()))
    assert {"languages.png", "pii.png", "documents.png", "ngrams/overall-unigrams.png"} <= set(stats["figures"])
    assert "tokens.png" not in stats["figures"]
    for figure in stats["figures"]:
        assert (out / figure).read_bytes()[:8] == PNG, figure


def test_results_do_not_depend_on_workers(analysis: None, corpus: Path, olmo_cli: Any, tmp_path: Path) -> None:
    runs = []
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        run_stats(olmo_cli, f"input={corpus}", f"output={out}", f"workers={workers}", "figures=false")
        runs.append((out / "stats.json").read_bytes())
    assert runs[0] == runs[1]
    assert json.loads(runs[0])["figures"] == []


def test_loose_files_misaligned_attributes_and_bad_options(analysis: None, tmp_path: Path, olmo_cli: Any) -> None:
    loose = tmp_path / "loose.jsonl"
    write_documents(loose, [Document(id="a", text="It's a test.\nIt’s a test.\n\n It's a test. "),
                            Document(id="b", text="")])
    (tmp_path / "bad.jsonl").write_text("not json\n")
    result, stats = run_stats(olmo_cli, f"input={tmp_path}/*.jsonl", f"output={tmp_path / 'out'}", "tokenizer=null",
                              "figures=false", "ngrams=[1,2]", "top_k=2")
    entry = stats["sources"]["(none)"]
    assert (stats["records"], stats["quarantined"], entry["documents"], entry["words"]) == (3, 1, 2, 9)
    assert "read 3 records from 2 files in " in result.err
    assert "): 2 documents, 1 quarantined (counted, not kept: olmo data filter or tokenize keeps them)" in result.err
    assert entry["ngrams"] == {"1": [["a", 3], ["test", 3]], "2": [["a test", 3], ["it's a", 2]]}
    assert entry["duplicates"]["paragraphs"] == {"total": 3, "unique": 2, "duplicates": 1,
                                                 "rate": 0.333333, "repeated": 1}
    assert entry["lengths"]["characters"]["min"] == 0

    dataset = tmp_path / "ds"
    write_documents(dataset / "documents" / "a.jsonl", [Document(id="1", text="one"), Document(id="2", text="two")])
    (dataset / "attributes" / "pii").mkdir(parents=True)
    (dataset / "attributes" / "pii" / "a.jsonl").write_text('{"id": "2", "attributes": {}}\n')
    failed = olmo_cli("data", "stats", f"input={dataset}", f"output={tmp_path / 'o'}", "tokenizer=null")
    assert failed.exit_code != 0 and "not aligned" in failed.err
    rows = "".join(f'{{"id": "{i}", "attributes": {{}}}}\n' for i in (1, 2, 3))
    (dataset / "attributes" / "pii" / "a.jsonl").write_text(rows)
    longer = olmo_cli("data", "stats", f"input={dataset}", f"output={tmp_path / 'o'}", "tokenizer=null")
    assert longer.exit_code != 0 and "more rows than it has documents" in longer.err
    bad = olmo_cli("data", "stats", f"input={dataset}", f"output={tmp_path / 'o'}", "paragraphs=sentences")
    assert bad.exit_code != 0 and "paragraphs='sentences'" in bad.err


def test_bad_options_are_refused_before_an_earlier_report_is_replaced(analysis: None, tmp_path: Path,
                                                                      olmo_cli: Any) -> None:
    loose = tmp_path / "docs.jsonl"
    write_documents(loose, [Document(id="a", text="One line.\nAnother line.")])
    out = tmp_path / "out"
    run_stats(olmo_cli, f"input={loose}", f"output={out}", "tokenizer=null", "figures=false")
    before = {name: (out / name).read_text() for name in ("result.json", "report.md", "stats.json")}
    for option, error in (("paragraphs=foo", "paragraphs='foo' is not one of lines, blocks"),
                          ("tokenizer=olmo-v15", "unknown tokenizer 'olmo-v15' (did you mean 'olmo-v1.5'?)")):
        result = olmo_cli("data", "stats", f"input={loose}", f"output={out}", "figures=false", option)
        assert result.exit_code != 0 and error in result.err
        assert {name: (out / name).read_text() for name in before} == before  # the good run's record, kept


def test_an_output_in_the_inputs_documents_is_refused(analysis: None, tmp_path: Path, olmo_cli: Any) -> None:
    dataset = tmp_path / "tk"
    write_documents(dataset / "documents" / "a.jsonl", [Document(id="1", text="one"), Document(id="2", text="two")])
    for output in (dataset / "documents", dataset / "documents" / "stats"):
        result = olmo_cli("data", "stats", f"input={dataset}", f"output={output}", "tokenizer=null")
        assert result.exit_code == 2, result.err
        assert result.err.strip().splitlines()[-1] == (
            f"error: output='{output}' lies in the input's documents {dataset / 'documents'}: data stats would write "
            f"its files there, and the next job reading the dataset would take them for documents; choose an output "
            f"folder apart from them (for example {dataset}-stats)")
        assert sorted(p.name for p in (dataset / "documents").rglob("*")) == ["a.jsonl"]  # nothing written
    run_stats(olmo_cli, f"input={dataset}", f"output={dataset / 'stats'}", "tokenizer=null", "figures=false")
