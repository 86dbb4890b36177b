"""Long documents: taggers whose counts add up see them in windows; taggers whose rules need the whole text
at once quarantine documents over their ``max_document_bytes``."""

from __future__ import annotations

import base64
import gzip
import inspect
import json
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from olmo_core.documents import Document

from olmo_data.taggers.base import too_long
from olmo_data.taggers.gopher import GopherRepetitionConfig
from olmo_data.taggers.language import LanguageConfig
from olmo_data.taggers.words import words_of
from tests.conftest import stdlib_documents


def test_the_limit_counts_utf8_bytes_and_names_the_tagger() -> None:
    assert LanguageConfig().max_document_bytes == GopherRepetitionConfig().max_document_bytes == 8_000_000
    taggers = {"pii": SimpleNamespace(), "language": SimpleNamespace(config=LanguageConfig(max_document_bytes=1000))}
    assert too_long(Document(id="a", text="é" * 500), taggers) == {}  # 1,000 bytes
    assert too_long(Document(id="b", text="é" * 501), taggers) == {
        "language": "too long for tagger 'language' (1,002 bytes > max_document_bytes=1,000)"}
    taggers["gopher"] = SimpleNamespace(config=GopherRepetitionConfig(max_document_bytes=1001))
    assert list(too_long(Document(id="b", text="é" * 501), taggers)) == ["language", "gopher"]
    taggers["language"].config.max_document_bytes = 0
    assert list(too_long(Document(id="b", text="é" * 501), taggers)) == ["gopher"]


def test_tag_quarantines_a_document_over_the_limit_and_keeps_files_aligned(tmp_path: Path, olmo_cli: Any) -> None:
    records = stdlib_documents()
    long = {"id": "long", "source": "python-docs", "text": "\n\n".join(str(r["text"]) for r in records)}
    target = tmp_path / "ds" / "documents" / "docs.jsonl.gz"
    target.parent.mkdir(parents=True)
    with gzip.open(target, "wt", encoding="utf-8") as f:  # a blank line before the long one: it is on line 5
        f.writelines([*(json.dumps(r) + "\n" for r in records[:3]), "\n",
                      *(json.dumps(r) + "\n" for r in [long, *records[3:]])])
    size = len(long["text"].encode())
    result = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[gopher_repetition,language]",
                      "taggers.language.max_document_bytes=5000")
    assert result.exit_code == 0, result.err
    report = json.loads((tmp_path / "ds" / "reports" / "tag.json").read_text())
    assert report["documents"] == len(records) and report["quarantined"] == 1
    assert report["quarantine_reasons"] == {"too long for tagger 'language'": 1}
    (quarantined,) = map(json.loads, (tmp_path / "ds" / "quarantine" / "docs.jsonl").read_text().splitlines())
    assert quarantined["reason"] == f"too long for tagger 'language' ({size:,} bytes > max_document_bytes=5,000)"
    assert quarantined["line"] == 5 and quarantined["raw_base64"] == ""  # the document stays in its file
    rows = {}
    for name in ("gopher_repetition", "language"):
        with gzip.open(tmp_path / "ds" / "attributes" / name / "docs.jsonl.gz", "rt") as f:
            rows[name] = [json.loads(line) for line in f]
        assert [r["id"] for r in rows[name]] == [r["id"] for r in [*records[:3], long, *records[3:]]]
        assert all(r["attributes"] and "not_tagged" not in r for i, r in enumerate(rows[name]) if i != 3)
    # the tagger without a limit (gopher_repetition has 8 MB) tags it; the one it is too long for does not
    assert rows["language"][3]["attributes"] == {} and rows["language"][3]["not_tagged"] == quarantined["reason"]
    assert "not_tagged" not in rows["gopher_repetition"][3] and rows["gopher_repetition"][3]["attributes"]

    # a filter on the attributes it has judges it; one on the tagger that refused it cannot, and quarantines it
    out = tmp_path / "filtered"
    result = olmo_cli("data", "filter", f"input={tmp_path / 'ds'}", f"output={out}",
                      "exclude=['gopher_repetition__gopher_repetition__dup_line_frac > 0.3']")
    assert result.exit_code == 0, result.err
    report = json.loads((out / "reports" / "filter.json").read_text())
    assert report["quarantined"] == 0 and report["written"] + report["dropped"] == len(records) + 1
    out = tmp_path / "by-language"
    result = olmo_cli("data", "filter", f"input={tmp_path / 'ds'}", f"output={out}",
                      "exclude=['language__language__en < 0.5']")
    assert result.exit_code == 0, result.err
    report = json.loads((out / "reports" / "filter.json").read_text())
    assert report["quarantined"] == 1 and report["written"] + report["dropped"] == len(records)
    (kept,) = map(json.loads, (out / "quarantine" / "docs.jsonl").read_text().splitlines())
    assert kept["line"] == 5 and kept["reason"] == f"not tagged by language: {quarantined['reason']}"
    assert json.loads(base64.b64decode(kept["raw_base64"]))["text"] == long["text"]
    with gzip.open(out / "documents" / "docs.jsonl.gz", "rt") as f:
        assert "long" not in [json.loads(line)["id"] for line in f]


def test_sizes_and_counts_of_taggers_are_bounded_at_composition(tmp_path: Path, olmo_cli: Any) -> None:
    (tmp_path / "a.jsonl").write_text('{"id": "a", "text": "x"}\n')
    for key, value in [("language.max_document_bytes", -1), ("c4.max_word_length", -1),
                       ("code.max_line_length", 0), ("gopher_quality.min_doc_words", -5)]:
        name = key.split(".")[0]
        result = olmo_cli("data", "tag", f"input={tmp_path / 'a.jsonl'}", f"output={tmp_path / 'o'}",
                          f"taggers=[{name}]", f"taggers.{key}={value}")
        assert result.exit_code == 2 and f"taggers.{key}" in result.err, (key, result.err)


def test_gopher_quality_counts_a_long_text_in_windows_exactly(monkeypatch: Any) -> None:
    from olmo_data.taggers import base, gopher

    # Real prose, bullets and code; lines ending with "..." and CRLF line ends too.
    text = "\n\n".join([*(str(r["text"]) for r in stdlib_documents()), inspect.getsource(tarfile),
                        "- a bullet...\r\n• another …\r\n" * 40])
    document = Document(id="long", text=text)
    whole = gopher.GopherQualityTagger().tag(document)
    seen: list[int] = []
    monkeypatch.setattr(base, "LINE_WINDOW_CHARS", 1000)
    monkeypatch.setattr(gopher, "words_of", lambda piece: seen.append(len(piece)) or words_of(piece))
    assert gopher.GopherQualityTagger().tag(document) == whole
    assert len(seen) > len(text) // 2000 and max(seen) < 2000 and sum(seen) == len(text)


def test_filter_finds_the_keys_when_a_files_first_document_was_refused(tmp_path: Path, olmo_cli: Any) -> None:
    records = stdlib_documents()
    long = {"id": "long", "source": "python-docs", "text": "\n\n".join(str(r["text"]) for r in records)}
    target = tmp_path / "ds" / "documents" / "docs.jsonl"
    target.parent.mkdir(parents=True)
    target.write_text("".join(json.dumps(r) + "\n" for r in [long, *records]))
    assert olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[gopher_repetition]",
                    "taggers.gopher_repetition.max_document_bytes=5000").exit_code == 0
    result = olmo_cli("data", "filter", f"input={tmp_path / 'ds'}", f"output={tmp_path / 'out'}",
                      "exclude=['gopher_repetition__gopher_repetition__dup_line_frac > 0.3']")
    assert result.exit_code == 0, result.err
    report = json.loads((tmp_path / "out" / "reports" / "filter.json").read_text())
    assert (report["records"], report["quarantined"], report["written"] + report["dropped"]) == (
        len(records) + 1, 1, len(records))
