"""The Bloom-filter paragraph deduper: sizing, persistence, false positives and spans, on real text."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from olmo_core.documents import Document

from olmo_data.dedup.base import DedupContext, DocumentRef, FileMarks
from olmo_data.dedup.bloom import BloomConfig, BloomDeduper
from olmo_data.dedup.bloomfilter import ParagraphFilter, as_digests, bloom_parameters, false_positive_rate
from olmo_data.dedup.text import (NORMALIZATIONS, checked_batch, checked_paragraphs, normalize, paragraph_digest,
                                  paragraphs)

from tests.data.dedup.conftest import attribute_rows, copy, marked, planted_corpus, source_documents, write_dataset

KEY = "bloom__bloom__"
SMALL = ("dedupers.bloom.expected_paragraphs=20000", "dedupers.bloom.false_positive_rate=1e-4")


def real_paragraphs(*sources: tuple[str, dict[str, Any]]) -> list[str]:
    """Distinct normalized paragraphs of at least 20 characters, in source order."""
    seen: dict[str, None] = {}
    for name, options in sources:
        for document in source_documents(name, None, **options):
            for start, end in paragraphs(document.text):
                text = normalize(document.text[start:end], "whitespace")
                if len(text) >= 20:
                    seen.setdefault(text, None)
    return list(seen)


def digests(texts: list[str]) -> Any:
    """The filter's items for ``texts``."""
    return as_digests(b"".join(map(paragraph_digest, texts)))


def held(bloom: ParagraphFilter, texts: list[str]) -> list[bool]:
    return bloom.check(digests(texts)).tolist()


def test_size_and_hashes_follow_the_formula() -> None:
    # n = 5000, p = 0.01: m~ = -5000 ln(0.01) / ln(2)^2 = 23025.85 / 0.480453 = 47925.29 bits,
    # bits = 8 * ceil(47925 / 8) = 47928, k = floor(47925.29 / 5000 * ln 2) = floor(6.644) = 6.
    assert bloom_parameters(5000, 0.01) == (47928, 6)
    bloom = ParagraphFilter(5000, 0.01, {})
    assert (bloom.bits, bloom.hashes) == (47928, 6)
    bloom.add(digests(["one paragraph"]))
    data = bloom.to_bytes()
    payload = data[data.index(b"}\n") + 2:]
    assert len(payload) == 47928 // 8
    h1, h2 = (int.from_bytes(paragraph_digest("one paragraph")[i:i + 8], "little") for i in (0, 8))
    positions = {(h1 + i * h2) % 2**64 % 47928 for i in range(6)}  # double hashing, by hand
    assert {8 * i + b for i, byte in enumerate(payload) for b in range(8) if byte >> b & 1} == positions
    # The default, n = 1e6 and p = 1e-5: m~ = 23,962,645.9, so 23,962,648 bits (2.86 MiB) and k = 16.
    assert bloom_parameters(1_000_000, 1e-5) == (23_962_648, 16)
    assert bloom_parameters(41, 0.01) == (392, 6)  # m~ = 392.99 is cut to 392 bits before rounding to bytes
    with pytest.raises(Exception, match="false-positive rate must be in"):
        bloom_parameters(10, 0.7)


def test_false_positive_rate_on_real_paragraphs_stays_near_the_target() -> None:
    english = real_paragraphs(("wikipedia", {}))[:5000]
    inserted = set(english)
    others = [p for p in real_paragraphs(("wikipedia", {"language": "fr"}), ("wikipedia", {"language": "es"}))
              if p not in inserted]
    bloom = ParagraphFilter(5000, 0.01, {})
    bloom.add(digests(english))
    assert all(held(bloom, english))
    measured = sum(held(bloom, others)) / len(others)
    expected = false_positive_rate(bloom.bits, bloom.hashes, 5000)
    assert expected == pytest.approx((1 - math.exp(-6 * 5000 / 47928)) ** 6) == pytest.approx(0.01014, abs=1e-5)
    assert len(others) > 15000
    print(f"false-positive rate on {len(others)} real paragraphs: {measured:.5f} (expected {expected:.5f})")
    assert 0.7 * expected < measured < 1.3 * expected, (measured, expected)


def test_duplicated_paragraphs_are_spans_and_shares(tmp_path: Path, run_dedup: Any) -> None:
    files, originals = planted_corpus()
    dataset = write_dataset(tmp_path / "ds", files)
    run_dedup(dataset, "dedupers=[bloom]", *SMALL)
    rows = attribute_rows(dataset, "bloom")
    assert set(marked(rows, KEY + "duplicate")) == {"planted-copy", "planted-appended", "planted-recrawl",
                                                    "planted-spaced"}
    with_spans = {doc_id for doc_id, attributes in rows.items() if attributes[KEY + "duplicate_paragraph"]}
    assert with_spans == {"planted-copy", "planted-appended", "planted-recrawl", "planted-spaced"}
    appended = next(d for d in files["c-planted"] if d.id == "planted-appended")
    spans = rows["planted-appended"][KEY + "duplicate_paragraph"]
    original = originals["planted-appended"].text
    assert [appended.text[s:e] for s, e, _ in spans] == [line + "\n" for line in original.split("\n")]
    share = rows["planted-appended"][KEY + "duplicate_share"][0][2]
    assert share == round((len(original) + 1) / len(appended.text), 5)
    edited = rows["planted-edited"]
    assert edited[KEY + "duplicate_paragraph"] == [] and edited[KEY + "duplicate_share"][0][2] == 0


def checked_lines(documents: list[Document]) -> list[str]:
    """The normalized paragraphs the deduper checks (at least 20 characters), in order."""
    found = []
    for document in documents:
        for start, end in paragraphs(document.text):
            text = normalize(document.text[start:end].removesuffix("\n"), "whitespace")
            if len(text) >= 20:
                found.append(text)
    return found


def test_the_saved_filter_reloads_and_serves_other_datasets(tmp_path: Path, run_dedup: Any, olmo_cli: Any) -> None:
    files, _ = planted_corpus()
    originals = files["a-wikipedia"] + files["b-c4"]
    first = write_dataset(tmp_path / "first", {"a-wikipedia": files["a-wikipedia"], "b-c4": files["b-c4"]})
    result = run_dedup(first, "dedupers=[bloom]", *SMALL)
    saved = first / "dedup" / "bloom.bloom"
    assert f"filter: {saved} (" in result.err

    in_memory = ParagraphFilter(20000, 1e-4, BloomDeduper(BloomConfig()).settings)
    for text in dict.fromkeys(checked_lines(originals)):
        in_memory.add(digests([text]))
    assert saved.read_bytes() == in_memory.to_bytes()
    loaded = ParagraphFilter.load(str(saved))
    assert (loaded.bits, loaded.hashes, loaded.items) == (in_memory.bits, in_memory.hashes, in_memory.items)
    queries = checked_lines(originals + files["c-planted"])
    queries += real_paragraphs(("wikipedia", {"language": "fr"}))[:3000]
    answers = held(in_memory, queries)
    assert held(loaded, queries) == answers
    assert all(answers[:in_memory.items]) and not all(answers)

    again = write_dataset(tmp_path / "again", {"a-wikipedia": files["a-wikipedia"], "b-c4": files["b-c4"]})
    run_dedup(again, "dedupers=[bloom]", *SMALL)
    assert (again / "dedup" / "bloom.bloom").read_bytes() == saved.read_bytes()

    lead = files["a-wikipedia"][0]
    fresh = Document(id="x-2", text="A new paragraph that nobody has written before.")
    other = write_dataset(tmp_path / "other", {"x": [copy(lead, "x-1"), fresh]})
    run_dedup(other, "dedupers=[bloom]", f"dedupers.bloom.load={saved}", "dedupers.bloom.read_only=true")
    rows = attribute_rows(other, "bloom")
    assert marked(rows, KEY + "duplicate") == {"x-1": None}
    assert rows["x-2"][KEY + "duplicate_paragraph"] == []
    assert not (other / "dedup").exists() and saved.read_bytes() == in_memory.to_bytes()
    refused = olmo_cli("data", "dedup", f"input={other}", "dedupers=[bloom]", "dedupers.bloom.read_only=true")
    assert refused.exit_code == 2 and "give the filter to check against with load=<file>" in refused.err


def test_a_filter_made_with_other_settings_is_refused(tmp_path: Path, run_dedup: Any, olmo_cli: Any) -> None:
    dataset = write_dataset(tmp_path / "ds", {"a": planted_corpus()[0]["a-wikipedia"][:20]})
    run_dedup(dataset, "dedupers=[bloom]", *SMALL)
    refused = olmo_cli("data", "dedup", f"input={dataset}", "dedupers=[bloom]", "dedupers.bloom.min_chars=5",
                       f"dedupers.bloom.load={dataset}/dedup/bloom.bloom", f"dedupers.bloom.save={tmp_path}/b.bloom")
    assert refused.exit_code == 2
    assert "was made with min_chars=20, this run uses min_chars=5" in refused.err


def test_a_batch_answers_what_one_item_at_a_time_answers() -> None:
    """A small, crowded filter (many false positives, also between items of one batch): checking and adding a
    batch at once gives the same answers, item count and bits as one item at a time, for any batch size."""
    first = real_paragraphs(("wikipedia", {}))[:3000]
    repeats = first[::7]
    texts = first + repeats + real_paragraphs(("wikipedia", {"language": "fr"}))[:2000]
    items = digests(texts)
    one_by_one = ParagraphFilter(800, 0.2, {})
    answers = [bool(one_by_one.check_and_add(items[i:i + 1])[0]) for i in range(len(items))]
    assert all(answers[3000:3000 + len(repeats)])
    assert 0.05 < sum(answers[:3000]) / 3000 < 0.95  # the filter fills up: false positives are frequent
    for size in (len(items), 1000, 97):
        batched = ParagraphFilter(800, 0.2, {})
        found = [flag for at in range(0, len(items), size) for flag in batched.check_and_add(items[at:at + size])]
        assert found == answers, size
        assert batched.items == one_by_one.items == len(texts) - sum(answers)
        assert batched.to_bytes() == one_by_one.to_bytes()


def test_an_old_filter_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    old = tmp_path / "old.bloom"
    old.write_bytes(b"OLMO-BLOOM 1\n{}\n" + bytes(16))
    with pytest.raises(Exception, match="earlier olmo .* build it again"):
        ParagraphFilter.load(str(old))


@pytest.mark.parametrize("how", ["none", "whitespace", "simple"])
def test_checked_paragraphs_are_the_lines_the_definition_names(how: str) -> None:
    """Spans and digests of the lines that, normalized, are not blank and have at least ``min_chars`` characters:
    against a line-by-line reading of the definition, on real documents and on edge cases."""
    texts = [d.text for d in source_documents("wikipedia")[:40]] + [d.text for d in source_documents("c4")[:40]]
    texts += ["", "\n", "a" * 25, "a" * 25 + "\n", "   \n" + "b" * 30 + "\n\n  x  \n" + "c" * 20, "é" * 30 + "\nz",
              "\u3000" * 30 + "\n", "ends with two\n\n"]
    for min_chars in (0, 20):
        for text in texts:
            spans, joined = [], b""
            for start, end in paragraphs(text):
                line = normalize(text[start:end].removesuffix("\n"), how)
                if line.strip() and len(line) >= min_chars:
                    spans += [start, end]
                    joined += paragraph_digest(line)
            assert checked_paragraphs(text, how, min_chars) == (spans, joined)


def test_a_file_rendered_at_once_reads_as_the_marks_one_by_one() -> None:
    """``mark_file`` (attributes rendered straight from the arrays) gives the text that ``json.dumps`` makes of
    ``mark_all``'s marks, and the same counts, on real documents partly or wholly repeated, empty ones, a text
    with no checked paragraph, and ids and a name that JSON escapes."""
    originals = list(source_documents("wikipedia")[:60]) + list(source_documents("c4")[:30])
    documents = [Document(id=f'{d.id}-"é"', text=d.text, source=d.source) for d in originals]
    for i, d in enumerate(originals[:40]):
        lines = d.text.split("\n")
        text = d.text if i % 3 == 0 else "\n".join(lines[: max(1, len(lines) // (1 + i % 4))]) + "\nnew line " * i
        documents.append(Document(id=f"copy-{i}", text=text, source="copies"))
    documents += [Document(id="empty", text="", source="copies"), Document(id="short", text="a\nb\n", source="x")]
    refs = [DocumentRef(d.id, d.source, len(d.text), "f") for d in documents]
    config = BloomConfig(expected_paragraphs=5000, false_positive_rate=1e-4, document_threshold=0.5)
    one, other = BloomDeduper(config), BloomDeduper(config)
    for deduper in (one, other):
        deduper.begin(DedupContext("unused", "b"))
    prefix = 'b"\\__b"\\__'
    for at in range(0, len(documents), 37):
        features = [one.features(d) for d in documents[at:at + 37]]
        expected = FileMarks.of(one.mark_all(refs[at:at + 37], features), prefix)
        found = other.mark_file(refs[at:at + 37], features, prefix)
        assert found.attributes == expected.attributes
        assert [json.loads(a) for a in found.attributes] == [json.loads(a) for a in expected.attributes]
        assert found.duplicate.tolist() == expected.duplicate.tolist()
        assert found.characters.tolist() == expected.characters.tolist()
        assert {k: v.tolist() for k, v in found.counts.items()} == {k: v.tolist() for k, v in expected.counts.items()}
    assert sum(json.loads(a)[prefix + "duplicate"][0][2] for a in found.attributes) > 0
    assert one.filter is not None and other.filter is not None and one.filter.to_bytes() == other.filter.to_bytes()


def test_a_batch_of_texts_checks_each_texts_paragraphs() -> None:
    """checked_batch over a batch (texts joined, newlines found by numpy, characters counted from UTF-8 bytes, lines
    hashed in place) gives each text's checked_paragraphs without normalization, on English, French and Spanish
    documents, code, and edge cases: empty texts, lines of Unicode or ASCII separator whitespace only, lone
    surrogates, carriage returns; and bloom's features_all gives its features one by one, for every normalization."""
    texts = [d.text for name, options in (("wikipedia", {}), ("wikipedia", {"language": "fr"}),
                                          ("wikipedia", {"language": "es"}), ("c4", {}), ("python-stdlib", {}))
             for d in source_documents(name, None, **options)[:60]]
    edges = ["", "\n", "a" * 25, "\x1c" * 30 + "\n" + "x" * 20, " \x1f " * 10, "é" * 30 + "\nz", "\u3000" * 30 + "\n",
             "ends with two\n\n", "\ud800abc" * 10 + "\n" + "q" * 21, "\n\n\n", "  \u3000 x\u3000\u3000 \n",
             "\r\n" * 3 + "\r" * 25, "é\u2028" * 12 + "\n" + "\u2028" * 30, "\t" * 20 + "ü" + "\t" * 20]
    assert any(not t.isascii() for t in texts) and any(t.isascii() for t in texts)
    big = ("a line of some words, ünïcode too " * 3 + "\n") * 45_000  # past the 4 MiB of reused scratch flags
    for batch in (texts, edges, edges[::-1] + texts[:7], [""], [], [big, *edges], *([t] for t in edges)):
        for min_chars in (0, 1, 20):
            found = checked_batch(batch, min_chars)
            expected = [checked_paragraphs(text, "none", min_chars) for text in batch]
            assert found.counts.tolist() == [len(spans) // 2 for spans, _ in expected]
            assert found.spans.ravel().tolist() == [offset for spans, _ in expected for offset in spans]
            assert found.digests == b"".join(digests for _, digests in expected)
    documents = [Document(id=str(i), text=text) for i, text in enumerate(texts[::5] + edges)]
    for how in NORMALIZATIONS:
        deduper = BloomDeduper(BloomConfig(normalize=how, min_chars=20))
        assert deduper.features_all(documents) == [deduper.features(document) for document in documents]
