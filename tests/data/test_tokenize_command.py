from __future__ import annotations

import json
from pathlib import Path

import pytest
from typing import Any

import numpy as np

from olmo_core.documents import read_documents
from olmo_core.token_arrays import open_token_array
from olmo_core.tokenizer import load_tokenizer


def test_tokens_decode_to_their_documents(dataset: Path, tmp_path: Path, olmo_cli: Any) -> None:
    out = tmp_path / "tokens"
    result = olmo_cli("data", "tokenize", f"input={dataset}", f"output={out}")
    assert result.exit_code == 0, result.err
    tokenizer = load_tokenizer("olmo-v1.5")
    documents = [d for d in read_documents(str(dataset / "documents" / "docs.jsonl.gz"))]
    part = open_token_array(out / "part-00000.npy")
    assert part.tokens.dtype == np.dtype("<u2") and part.ids == [d.id for d in documents]
    assert part.meta["tokenizer"]["sha256"] == tokenizer.sha256 and part.meta["eos_token_id"] == 50279
    for index, document in enumerate(documents):
        ids = part.tokens[part.starts[index]:part.ends[index]].tolist()
        assert ids[-1] == 50279 and tokenizer.decode(ids[:-1]) == document.text
        assert ids[:-1] == tokenizer.encode(document.text)
        assert part.document_at(int(part.starts[index])) == index == part.document_at(int(part.ends[index]) - 1)
    report = json.loads((out / "tokenize.json").read_text())
    assert report["tokens"] == len(part) == sum(len(tokenizer.encode(d.text)) + 1 for d in documents)


def test_workers_and_reruns_give_the_same_parts(dataset: Path, tmp_path: Path, olmo_cli: Any) -> None:
    docs = dataset / "documents"
    for shard in range(3):
        (docs / f"copy-{shard}.jsonl.gz").write_bytes((docs / "docs.jsonl.gz").read_bytes())
    outputs = {}
    for workers in (1, 2):
        out = tmp_path / f"w{workers}"
        assert olmo_cli("data", "tokenize", f"input={dataset}", f"output={out}", f"workers={workers}").exit_code == 0
        outputs[workers] = {p.name: p.read_bytes() for p in sorted(out.glob("part-*"))}
    assert len(outputs[1]) == 4 * 3 and outputs[1] == outputs[2]
    again = olmo_cli("data", "tokenize", f"input={dataset}", f"output={tmp_path / 'w1'}")
    assert "4 parts already complete" in again.err


@pytest.mark.parametrize("damage", ["truncated", "missing", "flipped"])
def test_a_part_whose_token_file_was_damaged_is_tokenized_again(
        dataset: Path, tmp_path: Path, olmo_cli: Any, damage: str) -> None:
    docs = dataset / "documents"
    (docs / "copy.jsonl.gz").write_bytes((docs / "docs.jsonl.gz").read_bytes())
    clean, damaged = tmp_path / "clean", tmp_path / "damaged"
    for out in (clean, damaged):
        assert olmo_cli("data", "tokenize", f"input={dataset}", f"output={out}").exit_code == 0
    npy = damaged / "part-00000.npy"
    size = npy.stat().st_size
    if damage == "truncated":
        npy.write_bytes(npy.read_bytes()[:1000])
    elif damage == "missing":
        npy.unlink()
    else:  # the same size, one byte changed: only the sha256 tells
        data = bytearray(npy.read_bytes())
        data[size // 2] ^= 0xFF
        npy.write_bytes(bytes(data))
    again = olmo_cli("data", "tokenize", f"input={dataset}", f"output={damaged}")
    assert again.exit_code == 0, again.err
    reason = {"truncated": f"its token file is 1,000 bytes, not the {size:,} its .meta.json records",
              "missing": "its token file is missing",
              "flipped": "its token file's sha256 is not the one its .meta.json records"}[damage]
    assert f"{npy} is tokenized again: {reason}" in again.err
    assert "1 part already complete" in again.err
    assert {p.name: p.read_bytes() for p in damaged.glob("part-*")} == \
        {p.name: p.read_bytes() for p in clean.glob("part-*")}
    assert npy.stat().st_size == size
    report = json.loads((damaged / "tokenize.json").read_text())
    clean_report = json.loads((clean / "tokenize.json").read_text())
    assert report["skipped_parts"] == 1 and report["tokens"] == clean_report["tokens"]


def test_the_report_gives_the_unigram_entropy(dataset: Path, tmp_path: Path, olmo_cli: Any) -> None:
    import math
    from collections import Counter

    out = tmp_path / "tokens"
    assert olmo_cli("data", "tokenize", f"input={dataset}", f"output={out}").exit_code == 0
    tokenizer = load_tokenizer("olmo-v1.5")
    counts = Counter(t for d in read_documents(str(dataset / "documents" / "docs.jsonl.gz"))
                     for t in tokenizer.encode(d.text, add_eos=True))
    total = sum(counts.values())
    expected = -sum(c / total * math.log(c / total) for c in counts.values())
    report = json.loads((out / "tokenize.json").read_text())
    assert report["unigram_entropy_nats"] == round(expected, 4)


def test_the_sidecar_names_each_documents_real_line(tmp_path: Path, olmo_cli: Any) -> None:
    import csv
    import gzip

    (tmp_path / "gaps.jsonl").write_text('{"id": "a", "text": "one"}\n\n\n{"id": "b", "text": "two"}\n')
    assert olmo_cli("data", "tokenize", f"input={tmp_path / 'gaps.jsonl'}", f"output={tmp_path / 't'}").exit_code == 0
    with gzip.open(tmp_path / "t" / "part-00000.csv.gz", "rt", newline="") as f:
        assert [(row[2], row[4]) for row in csv.reader(f)] == [("a", "1"), ("b", "4")]


def test_a_long_document_streams_out_in_pieces_with_the_ids_of_the_whole(
        dataset: Path, tmp_path: Path, olmo_cli: Any, monkeypatch: Any) -> None:
    from olmo_core.tokenizer import Tokenizer

    import olmo_data.commands.tokenize as tokenize_command

    text = "\n\n".join(d.text for d in read_documents(str(dataset / "documents" / "docs.jsonl.gz")))
    (tmp_path / "long.jsonl").write_text(json.dumps({"id": "long", "text": text, "source": "docs"}) + "\n")
    monkeypatch.setattr(tokenize_command, "STREAM_ABOVE_CHARS", 1000)
    monkeypatch.setattr(tokenize_command, "ENCODE_PIECE_CHARS", 1000)
    encoded: list[int] = []
    real_encode = Tokenizer.encode

    def encode(self: Tokenizer, piece: str, *, add_eos: bool = False) -> list[int]:
        encoded.append(len(piece))
        return real_encode(self, piece, add_eos=add_eos)

    monkeypatch.setattr(Tokenizer, "encode", encode)
    out = tmp_path / "tokens"
    assert olmo_cli("data", "tokenize", f"input={tmp_path / 'long.jsonl'}", f"output={out}").exit_code == 0
    assert len(encoded) > len(text) // 2000 and max(encoded) < 2000  # never the whole text at once
    monkeypatch.undo()
    tokenizer = load_tokenizer("olmo-v1.5")
    part = open_token_array(out / "part-00000.npy")
    assert part.tokens.tolist() == tokenizer.encode(text, add_eos=True) and part.ids == ["long"]
    report = json.loads((out / "tokenize.json").read_text())
    assert report["tokens"] == len(part) and report["documents"] == 1


def test_an_id_outside_the_vocabulary_in_a_streamed_document_is_a_clear_error(
        tmp_path: Path, olmo_cli: Any, monkeypatch: Any) -> None:
    from olmo_core.tokenizer import Tokenizer

    import olmo_data.commands.tokenize as tokenize_command

    monkeypatch.setattr(tokenize_command, "STREAM_ABOVE_CHARS", 10)
    monkeypatch.setattr(Tokenizer, "encode", lambda self, text, add_eos=False: [10**6])
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "long", "text": "word " * 10}) + "\n")
    result = olmo_cli("data", "tokenize", f"input={tmp_path / 'a.jsonl'}", f"output={tmp_path / 't'}")
    assert result.exit_code == 1 and "document long has token id 1000000 outside the vocabulary" in result.err


def test_documents_below_a_million_characters_are_encoded_in_batches(
        tmp_path: Path, olmo_cli: Any, monkeypatch: Any) -> None:
    from olmo_core.tokenizer import Tokenizer

    def streamed(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("streamed alone instead of in a batch")

    monkeypatch.setattr(Tokenizer, "encode_pieces", streamed)
    text = "Call me Ishmael. " * 6000  # 102,000 characters
    (tmp_path / "a.jsonl").write_text(json.dumps({"id": "book", "text": text}) + "\n")
    assert olmo_cli("data", "tokenize", f"input={tmp_path / 'a.jsonl'}", f"output={tmp_path / 't'}").exit_code == 0
    assert open_token_array(tmp_path / "t" / "part-00000.npy").tokens.tolist() == \
        load_tokenizer("olmo-v1.5").encode(text, add_eos=True)


def test_quarantined_lines_are_kept_the_same_for_any_workers_parts_and_shards(
        dataset: Path, tmp_path: Path, olmo_cli: Any) -> None:
    import base64
    import gzip

    docs = dataset / "documents"
    valid = gzip.decompress((docs / "docs.jsonl.gz").read_bytes()).splitlines(keepends=True)
    (docs / "mixed.jsonl").write_bytes(b"".join(valid[:3]) + b"{not json\n" + valid[3]
                                       + b'{"id": "x", "text": "caf\xe9"}\n' + b"".join(valid[4:6]))
    runs = {"whole": [[]], "parts": [["workers=2", "part_bytes=512"]],
            "shards": [["shard=0/2"], ["shard=1/2", "part_bytes=512"]]}
    kept = {}
    for name, arguments in runs.items():
        out = tmp_path / name
        for extra in arguments:
            result = olmo_cli("data", "tokenize", f"input={dataset}", f"output={out}", *extra)
            assert result.exit_code == 0, result.err
        kept[name] = {str(p.relative_to(out)): p.read_bytes() for p in sorted((out / "quarantine").rglob("*"))}
    report = json.loads((tmp_path / "whole" / "tokenize.json").read_text())
    assert (report["records"], report["written"], report["quarantined"]) == (len(valid) + 8, len(valid) + 6, 2)
    assert report["quarantine_reasons"] == {"invalid JSON": 1, "not UTF-8": 1}
    parts = json.loads((tmp_path / "parts" / "tokenize.json").read_text())["file_parts"]
    assert parts == sum(-(-n // 512) for n in (len(b"".join(valid)), (docs / "mixed.jsonl").stat().st_size))
    assert list(kept["whole"]) == ["quarantine/mixed.jsonl"] and kept["parts"] == kept["whole"] == kept["shards"]
    records = [json.loads(line) for line in kept["whole"]["quarantine/mixed.jsonl"].splitlines()]
    assert [(r["file"], r["line"], r["reason"].split(" (")[0], base64.b64decode(r["raw_base64"])) for r in records] == [
        (str(docs / "mixed.jsonl"), 4, "invalid JSON", b"{not json\n"),
        (str(docs / "mixed.jsonl"), 6, "not UTF-8", b'{"id": "x", "text": "caf\xe9"}\n')]


def test_token_arrays_are_not_read_as_documents(dataset: Path, tmp_path: Path, olmo_cli: Any) -> None:
    from olmo_core.documents import document_files
    from olmo_core.errors import ConfigError

    tokens = tmp_path / "tokens"
    assert olmo_cli("data", "tokenize", f"input={dataset}", f"output={tokens}").exit_code == 0
    with pytest.raises(ConfigError, match=r"holds token arrays \(part-\*\.npy\), not documents"):
        document_files(str(tokens))  # its .meta.json and result.json files are no JSON-lines documents
    again = olmo_cli("data", "tokenize", f"input={tokens}", f"output={tmp_path / 'again'}")
    assert again.exit_code == 2 and not (tmp_path / "again").exists()
    assert f"{tokens} is token arrays, not a dataset (documents/)" in again.err


@pytest.mark.parametrize("where", ["documents", "documents/wikipedia"])
def test_an_output_in_the_inputs_documents_is_refused(dataset: Path, olmo_cli: Any, where: str) -> None:
    before = sorted(p.relative_to(dataset) for p in dataset.rglob("*"))
    output = dataset / where
    result = olmo_cli("data", "tokenize", f"input={dataset}", f"output={output}")
    assert result.exit_code == 2, result.err
    assert result.err.strip().splitlines()[-1] == (
        f"error: output='{output}' lies in the input's documents {dataset / 'documents'}: data tokenize would write "
        f"its files there, and the next job reading the dataset would take them for documents; choose an output "
        f"folder apart from them (for example {dataset}-tokenize)")
    assert sorted(p.relative_to(dataset) for p in dataset.rglob("*")) == before  # nothing written


def test_an_output_beside_the_documents_is_accepted(dataset: Path, olmo_cli: Any) -> None:
    result = olmo_cli("data", "tokenize", f"input={dataset}", f"output={dataset / 'tokens'}")
    assert result.exit_code == 0, result.err
    assert (dataset / "tokens" / "part-00000.npy").is_file()


def test_a_rerun_after_an_input_file_is_gone_leaves_only_its_own_parts(tmp_path: Path, olmo_cli: Any) -> None:
    import shutil

    from olmo_core.token_arrays import part_urls
    from tests.conftest import two_source_dataset

    root = tmp_path / "rt"
    records = two_source_dataset(root)
    out = tmp_path / "rt_tok"
    assert olmo_cli("data", "tokenize", f"input={root}", f"output={out}").exit_code == 0
    (out / "quarantine" / "c4").mkdir(parents=True)
    (out / "quarantine" / "c4" / "part-00000.jsonl").write_text("{}\n")  # the quarantine of a file gone since
    assert sorted(p.name for p in out.glob("part-*")) == [f"part-0000{i}.{s}" for i in (0, 1)
                                                          for s in ("csv.gz", "meta.json", "npy")]
    shutil.rmtree(root / "documents" / "c4")
    again = olmo_cli("data", "tokenize", f"input={root}", f"output={out}")
    assert again.exit_code == 0, again.err
    assert f"removed 4 stale files that an earlier run left in {out} (for input files that are no longer there)" \
        in again.err
    assert sorted(p.name for p in out.glob("part-*")) == ["part-00000.csv.gz", "part-00000.meta.json",
                                                          "part-00000.npy"]
    assert not (out / "quarantine" / "c4").exists()
    tokenizer = load_tokenizer("olmo-v1.5")
    expected = sum(len(tokenizer.encode(str(r["text"]))) + 1 for r in records[5:])
    assert part_urls(out) == [f"{out}/part-00000.npy"]
    part = open_token_array(out / "part-00000.npy")
    assert part.meta["input"] == str(root / "documents" / "wikipedia" / "part-00000.jsonl.gz")
    assert len(part) == expected and part.ids == [r["id"] for r in records[5:]]
    report = json.loads((out / "tokenize.json").read_text())
    assert (report["parts"], report["tokens"], report["stale_files_removed"]) == (1, expected, 4)


def test_counts_of_one_are_singular(tmp_path: Path, olmo_cli: Any) -> None:
    from tests.conftest import stdlib_documents

    record = stdlib_documents()[0]
    (tmp_path / "one" / "documents").mkdir(parents=True)
    (tmp_path / "one" / "documents" / "a.jsonl").write_text(json.dumps(record) + "\n")
    out = tmp_path / "tokens"
    result = olmo_cli("data", "tokenize", f"input={tmp_path / 'one'}", f"output={out}")
    assert result.exit_code == 0, result.err
    tokens = len(load_tokenizer("olmo-v1.5").encode(str(record["text"]))) + 1
    assert f"tokenized 1 document into {tokens:,} tokens (" in result.err
    assert "in 1 part with olmo-v1.5; 1 record in: 1 written, 0 dropped, 0 quarantined;" in result.err
    assert "from 1 document, tokenizer olmo-v1.5" in (out / "report.md").read_text()
