"""Within-file parallelism (issue 19): a large file is tagged in parts by several processes, and what is written
(attributes, quarantine, report counts) is byte for byte what one process writes for the whole file."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zstandard
from olmo_core import hookimpl
from olmo_core.documents import Document
from olmo_core.io import remove_temporaries
from olmo_core.plugins import get_host
from olmo_data.parallel import Part, map_parts, part_file, scratch_folder, split_file

SOURCES = {"c4": 60, "spam-assassin": 60, "wikipedia": 60, "moby-dick": 15}
PART_BYTES = 64 << 10
RUNS = (("whole", 1, 1 << 30), ("k1", 1, PART_BYTES), ("k2", 2, PART_BYTES))
"""(name, workers, part_bytes) of the runs compared: the file whole, then in parts by one and by two processes."""
MAX_BYTES = 20_000
"""gopher_repetition's ``max_document_bytes`` in these runs: the longer real documents are quarantined by tag."""
BAD_LINES = {5: b"not json at all", 40: b'{"id": "no-text", "source": "x"}', 41: b'{"id": "bad", "text": "caf\xe9"}',
             150: b'{"id": "cut", "text": "unterminated'}
"""Invalid lines, by the line of the file they are put on."""
BLANK_LINES = (60, 61, 120)


@pytest.fixture(scope="module")
def documents() -> list[Document]:
    registry = get_host().registry("sources")
    return [d for name, limit in SOURCES.items() for d in registry.build({"_name_": name, "limit": limit}).documents()]


@pytest.fixture(scope="module")
def content(documents: list[Document]) -> bytes:
    """The real documents as JSON lines, with the invalid and blank lines put in."""
    records = iter(documents)
    lines = []
    for number in range(1, len(documents) + len(BAD_LINES) + len(BLANK_LINES) + 1):
        if number in BAD_LINES:
            lines.append(BAD_LINES[number])
        elif number in BLANK_LINES:
            lines.append(b"")
        else:
            lines.append(json.dumps(next(records).to_json()).encode())
    return b"".join(line + b"\n" for line in lines)


def expected_quarantine(documents: list[Document]) -> list[tuple[int, str]]:
    """(line, reason kind) of every quarantined line, worked out from where the lines were put."""
    found = {n: kind for n, kind in ((5, "invalid JSON"), (40, "missing 'text'"), (41, "not UTF-8"),
                                     (150, "invalid JSON"))}
    line = 0
    records = iter(documents)
    while len(found) < len(documents):
        line += 1
        if line in BAD_LINES or line in BLANK_LINES:
            continue
        document = next(records, None)
        if document is None:
            break
        if len(document.text.encode()) > MAX_BYTES:
            found[line] = "too long for tagger 'gopher_repetition'"
    return sorted(found.items())


@dataclass(kw_only=True)
class PidProbeConfig:
    log: str = ""
    """A file to which each tagger built appends the process it was built in, and the part it tags."""


class PidProbe:
    """A tagger that says which process built it: ``olmo data tag`` builds its taggers once per part."""

    def __init__(self, config: PidProbeConfig) -> None:
        with open(config.log, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(0.05)  # each part takes a while, so that no worker takes every part before the others start

    def tag(self, document: Any) -> dict[str, list[list[Any]]]:
        return {"chars": [[0, len(document.text), len(document.text)]]}


class PidProbePlugin:
    @hookimpl
    def olmo_register_taggers(self, register: Any) -> None:
        register("pid_probe", PidProbe, config=PidProbeConfig)


def write_file(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(content))
    elif path.name.endswith(".zst"):  # streamed: the frame does not declare the content's size
        with open(path, "wb") as raw, zstandard.ZstdCompressor().stream_writer(raw) as f:
            f.write(content)
    else:
        path.write_bytes(content)


def outputs(ds: Path) -> dict[str, bytes]:
    return {str(p.relative_to(ds)): p.read_bytes() for p in sorted(ds.rglob("*"))
            if p.is_file() and "documents" not in p.parts and "reports" not in p.parts}


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_a_large_file_tagged_in_parts_gives_the_same_bytes_for_any_workers(
        tmp_path: Path, suffix: str, documents: list[Document], content: bytes, register_plugin: Any,
        olmo_cli: Any) -> None:
    register_plugin(PidProbePlugin(), "pid_probe")
    runs: dict[str, dict[str, Any]] = {}
    ds = tmp_path / "ds"  # one dataset, its outputs removed between runs: quarantine records name the file
    write_file(ds / "documents" / f"big{suffix}", content)
    for name, workers, part_bytes in (*RUNS, ("k3", 3, PART_BYTES)):
        pids = tmp_path / f"{name}.pids"
        result = olmo_cli("data", "tag", f"input={ds}", "taggers=[c4,gopher_repetition,pid_probe]",
                          f"taggers.gopher_repetition.max_document_bytes={MAX_BYTES}",
                          f"taggers.pid_probe.log={pids}", f"workers={workers}", f"part_bytes={part_bytes}")
        assert result.exit_code == 0, result.err
        report = json.loads((ds / "reports" / "tag.json").read_text())
        runs[name] = {"files": outputs(ds), "report": report, "pids": pids.read_text().split(),
                      "parts": len(split_file(str(ds / "documents" / f"big{suffix}"), part_bytes))}
        assert not list(ds.rglob(".*.tmp-*"))  # the parts' temporary files are gone
        for folder in ("attributes", "quarantine", "reports"):
            shutil.rmtree(ds / folder)

    whole = runs["whole"]
    assert sorted(whole["files"]) == ["attributes/c4/big" + suffix, "attributes/gopher_repetition/big" + suffix,
                                      "attributes/pid_probe/big" + suffix, "quarantine/big.jsonl"]
    quarantined = [json.loads(line) for line in whole["files"]["quarantine/big.jsonl"].splitlines()]
    assert [(q["line"], q["reason"].split(" (")[0]) for q in quarantined] == expected_quarantine(documents)
    counts = {k: whole["report"][k] for k in ("records", "documents", "written", "quarantined", "quarantine_reasons")}
    assert counts["records"] == len(documents) + len(BAD_LINES)
    assert whole["report"]["parts"] == 1 and whole["pids"] == [str(os.getpid())]

    parts = runs["k1"]["parts"]
    if suffix != ".jsonl.zst":  # plain and gzip files know their size; a zstd stream's is guessed (4x compressed)
        assert parts == math.ceil(len(content) / PART_BYTES) >= 8
    assert parts >= 3
    for name in ("k1", "k2", "k3"):
        run = runs[name]
        assert run["files"] == whole["files"], name  # attributes and quarantine, byte for byte
        assert {k: run["report"][k] for k in counts} == counts, name
        assert run["report"]["parts"] == parts and len(run["pids"]) == parts, name
    assert set(runs["k1"]["pids"]) == {str(os.getpid())}  # one process: the parts are tagged in this one
    for name, workers in (("k2", 2), ("k3", 3)):
        used = set(runs[name]["pids"])
        assert 2 <= len(used) <= workers and str(os.getpid()) not in used, (name, used)


def test_a_file_is_split_by_its_content_size_only(tmp_path: Path, content: bytes) -> None:
    plain, packed, streamed = tmp_path / "a.jsonl", tmp_path / "a.jsonl.gz", tmp_path / "a.jsonl.zst"
    for path in (plain, packed, streamed):
        write_file(path, content)
    parts = split_file(str(plain), 100_000)
    count = math.ceil(len(content) / 100_000)
    assert [(p.index, p.count, p.start, p.end) for p in parts] == [
        (i, count, i * 100_000, None if i == count - 1 else (i + 1) * 100_000) for i in range(count)]
    assert [(p.start, p.end) for p in split_file(str(packed), 100_000)] == [(p.start, p.end) for p in parts]
    guessed = 4 * streamed.stat().st_size  # a zstd stream does not declare its size
    assert len(split_file(str(streamed), 100_000)) == math.ceil(guessed / 100_000)
    assert split_file(str(plain), len(content)) == [Part(str(plain))]  # one part: the whole file
    (tmp_path / "a.parquet").write_bytes(b"PAR1")
    assert split_file(str(tmp_path / "a.parquet"), 1) == [Part(str(tmp_path / "a.parquet"))]


def _documents_of(part: Part) -> tuple[int, list[str]]:
    return part.index, [r.id for r in part.records() if isinstance(r, Document)]


@pytest.mark.parametrize("workers", [1, 2])
def test_map_parts_gives_each_file_its_parts_results_in_order(tmp_path: Path, documents: list[Document],
                                                              content: bytes, workers: int) -> None:
    big, small = tmp_path / "big.jsonl.gz", tmp_path / "small.jsonl"
    write_file(big, content)
    small.write_text(json.dumps({"id": "only", "text": "one document"}) + "\n")
    found = list(map_parts(_documents_of, [str(big), str(small)], workers=workers, part_bytes=PART_BYTES))
    assert [file for file, _ in found] == [str(big), str(small)]
    big_parts = found[0][1]
    assert [index for index, _ in big_parts] == list(range(math.ceil(len(content) / PART_BYTES)))
    assert [i for _, ids in big_parts for i in ids] == [d.id for d in documents]
    assert found[1][1] == [(0, ["only"])]


def document_lines(documents: list[Document]) -> list[int]:
    """The line of the file each document is on, worked out from where the other lines were put."""
    lines, line = [], 0
    while len(lines) < len(documents):
        line += 1
        if line not in BAD_LINES and line not in BLANK_LINES:
            lines.append(line)
    return lines


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_a_large_file_tokenized_in_parts_gives_the_same_token_array_for_any_workers(
        tmp_path: Path, suffix: str, documents: list[Document], content: bytes, olmo_cli: Any) -> None:
    ds = tmp_path / "ds"
    write_file(ds / "documents" / f"big{suffix}", content)
    runs: dict[str, dict[str, Any]] = {}
    for name, workers, part_bytes in (*RUNS, ("k3", 3, PART_BYTES)):
        out = tmp_path / name
        result = olmo_cli("data", "tokenize", f"input={ds}", f"output={out}", f"workers={workers}",
                          f"part_bytes={part_bytes}")
        assert result.exit_code == 0, result.err
        report = json.loads((out / "tokenize.json").read_text())
        runs[name] = {"files": {p.name: p.read_bytes() for p in sorted(out.glob("part-*"))}, "report": report,
                      "quarantine": (out / "quarantine" / "big.jsonl").read_bytes()}
        assert not list(out.rglob(".*.tmp-*"))  # the parts' temporary files are gone
    whole = runs["whole"]
    assert sorted(whole["files"]) == ["part-00000.csv.gz", "part-00000.meta.json", "part-00000.npy"]
    with gzip.open(io.BytesIO(whole["files"]["part-00000.csv.gz"]), "rt") as f:
        rows = list(csv.reader(f))
    assert [(r[2], int(r[4])) for r in rows] == list(zip([d.id for d in documents], document_lines(documents),
                                                         strict=True))
    keys = ("records", "written", "quarantined", "quarantine_reasons", "tokens", "documents", "text_bytes",
            "tokens_per_source", "unigram_entropy_nats")
    assert whole["report"]["quarantined"] == len(BAD_LINES) and whole["report"]["file_parts"] == 1
    assert [json.loads(line)["line"] for line in whole["quarantine"].splitlines()] == sorted(BAD_LINES)
    for name in ("k1", "k2", "k3"):
        run = runs[name]
        assert run["files"] == whole["files"], name  # tokens, sidecar and metadata, byte for byte
        assert run["quarantine"] == whole["quarantine"], name
        assert {k: run["report"][k] for k in keys} == {k: whole["report"][k] for k in keys}, name
        assert run["report"]["file_parts"] == math.ceil(len(content) / PART_BYTES), name


def test_the_scratch_folder_outlives_other_runs_cleanups_but_not_its_own_run(tmp_path: Path) -> None:
    with scratch_folder(str(tmp_path)) as folder:
        Path(part_file(folder)).write_text("rows")
        assert remove_temporaries(str(tmp_path)) == []  # another run starting over the same output
        assert len(list(Path(folder).iterdir())) == 1
    assert not Path(folder).exists()
    left = tmp_path / ".parts.tmp-0123456789ab"  # a killed run's
    left.mkdir()
    (left / "rows").write_text("rows")
    assert remove_temporaries(str(tmp_path)) == [str(left)] and not left.exists()


def saved_features(ds: Path) -> dict[str, list[Any]]:
    """The saved dedup features of ``ds``, by file: header (without the seconds) and rows."""
    found = {}
    for path in sorted((ds / "dedup" / "features").rglob("*.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as f:
            header, *rows = [json.loads(line) for line in f]
        found[str(path.relative_to(ds))] = [{k: v for k, v in header.items() if k != "seconds"}, *rows]
    return found


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_a_large_file_deduplicated_in_parts_gives_the_same_bytes_for_any_workers(
        tmp_path: Path, suffix: str, documents: list[Document], content: bytes, olmo_cli: Any) -> None:
    ds = tmp_path / "ds"
    repeated = content + b"".join(json.dumps({**d.to_json(), "id": f"again-{d.id}"}).encode() + b"\n"
                                  for d in documents[::7])  # a seventh of the documents again, as exact duplicates
    write_file(ds / "documents" / f"big{suffix}", repeated)
    dedupers = ("dedupers=[exact,minhash,bloom]",)  # the Bloom filter sized by a first pass over the parts
    runs: dict[str, dict[str, Any]] = {}
    for name, workers, part_bytes in RUNS:
        result = olmo_cli("data", "dedup", f"input={ds}", *dedupers, f"workers={workers}", f"part_bytes={part_bytes}")
        assert result.exit_code == 0, result.err
        report = json.loads((ds / "reports" / "dedup-exact.json").read_text())
        runs[name] = {"files": outputs(ds), "counts": {k: report[k] for k in ("records", "written", "quarantined",
                                                                               "duplicate_documents")}}
        shutil.rmtree(ds / "attributes")
        shutil.rmtree(ds / "quarantine")
        (ds / "dedup" / "bloom.bloom").unlink()
        features = olmo_cli("data", "dedup", f"input={ds}", *dedupers, "phase=features", f"workers={workers}",
                            f"part_bytes={part_bytes}")
        assert features.exit_code == 0, features.err
        runs[name]["features"] = saved_features(ds)
        runs[name]["buckets"] = {str(p.relative_to(ds)): p.read_bytes() for p in ds.glob("dedup/buckets/*/*")}
        runs[name]["features quarantine"] = outputs(ds)["quarantine/big.jsonl"]
        for folder in ("dedup", "quarantine", "reports"):
            shutil.rmtree(ds / folder)
    whole = runs["whole"]
    counts = whole["counts"]
    assert (counts["records"], counts["written"], counts["quarantined"]) == \
        (len(documents) + len(BAD_LINES) + len(documents[::7]), len(documents) + len(documents[::7]), len(BAD_LINES))
    assert counts["duplicate_documents"] >= len(documents[::7])  # the copies, and any the sources repeat
    quarantined = [json.loads(line) for line in whole["files"]["quarantine/big.jsonl"].splitlines()]
    assert [q["line"] for q in quarantined] == sorted(BAD_LINES)
    assert whole["features quarantine"] == whole["files"]["quarantine/big.jsonl"]
    assert sorted(whole["buckets"]) == [f"dedup/buckets/{n}/big{suffix}.buckets" for n in ("exact", "minhash")]
    for name in ("k1", "k2"):
        for what in ("files", "counts", "features", "buckets", "features quarantine"):
            assert runs[name][what] == whole[what], (name, what)


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_a_large_file_filtered_in_parts_gives_the_same_bytes_for_any_workers(
        tmp_path: Path, suffix: str, documents: list[Document], content: bytes, olmo_cli: Any) -> None:
    ds = tmp_path / "ds"
    write_file(ds / "documents" / f"big{suffix}", content)
    tagged = olmo_cli("data", "tag", f"input={ds}", "taggers=[c4,gopher_repetition,pii]",
                      f"taggers.gopher_repetition.max_document_bytes={MAX_BYTES}", f"part_bytes={PART_BYTES}")
    assert tagged.exit_code == 0, tagged.err
    rules = ("exclude=['c4__c4__lines_no_terminal_punctuation > 0.5']",
             "replace=['pii__pii__EMAIL_ADDRESS => |||EMAIL|||']")
    runs: dict[str, dict[str, Any]] = {}
    for name, workers, part_bytes in RUNS:
        out = tmp_path / name
        result = olmo_cli("data", "filter", f"input={ds}", f"output={out}", *rules, f"workers={workers}",
                          f"part_bytes={part_bytes}")
        assert result.exit_code == 0, result.err
        report = json.loads((out / "reports" / "filter.json").read_text())
        runs[name] = {"files": {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*/*"))
                                if p.is_file() and "reports" not in p.parts},  # not the job's own records
                      "report": {k: report[k] for k in ("records", "kept", "dropped", "quarantined", "dropped_by",
                                                        "spans_replaced", "per_source")}}
        assert not list(out.rglob(".*.tmp-*"))  # the parts' temporary files are gone
    whole = runs["whole"]
    assert sorted(whole["files"]) == [f"documents/big{suffix}", f"dropped/big{suffix}", "quarantine/big.jsonl"]
    report = whole["report"]
    quarantined = [json.loads(line) for line in whole["files"]["quarantine/big.jsonl"].splitlines()]
    assert [(q["line"], q["reason"].split(" (")[0].split(":")[0]) for q in quarantined] == \
        [(line, kind) for line, kind in expected_quarantine(documents)  # the rules read c4 and pii, which tagged
         if not kind.startswith("too long")]                         # the documents too long for gopher_repetition
    assert report["records"] == len(documents) + len(BAD_LINES)
    assert report["kept"] + report["dropped"] + report["quarantined"] == report["records"]
    assert report["dropped"] > 0 and report["kept"] > 0 and report["spans_replaced"]
    for name in ("k1", "k2"):
        assert runs[name] == whole, name


def test_a_large_file_counted_in_parts_gives_the_same_stats_for_any_workers(
        tmp_path: Path, documents: list[Document], content: bytes, olmo_cli: Any) -> None:
    ds = tmp_path / "ds"
    write_file(ds / "documents" / "big.jsonl.gz", content)
    tagged = olmo_cli("data", "tag", f"input={ds}", "taggers=[pii]")
    assert tagged.exit_code == 0, tagged.err
    runs: dict[str, tuple[bytes, bytes]] = {}
    for name, workers, part_bytes in RUNS:
        out = tmp_path / name
        for phase in ("all", "count"):
            result = olmo_cli("data", "stats", f"input={ds}", f"output={out}", f"phase={phase}", "figures=false",
                              f"workers={workers}", f"part_bytes={part_bytes}")
            assert result.exit_code == 0, result.err
        runs[name] = ((out / "stats.json").read_bytes(), next((out / "partial").glob("*.gz")).read_bytes())
    stats = json.loads(runs["whole"][0])
    assert (stats["records"], stats["quarantined"]) == (len(documents) + len(BAD_LINES), len(BAD_LINES))
    assert stats["overall"]["pii"]["documents_with_pii"] > 0  # the attribute rows were joined to their documents
    assert runs["k1"] == runs["k2"] == runs["whole"]


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_a_large_file_mixed_in_parts_gives_the_same_bytes_for_any_workers(
        tmp_path: Path, suffix: str, documents: list[Document], content: bytes, olmo_cli: Any) -> None:
    ds = tmp_path / "ds"
    write_file(ds / "documents" / f"big{suffix}", content)
    runs: dict[str, dict[str, Any]] = {}
    for name, workers, part_bytes in RUNS:
        out = tmp_path / name
        result = olmo_cli("data", "mix", f"input={ds}", f"output={out}", "mixer=proportions",
                          "mixer.proportions={c4: 0.5, wikipedia: 0.3, spam-assassin: 0.1, moby-dick: 0.1}",
                          f"workers={workers}", f"part_bytes={part_bytes}")
        assert result.exit_code == 0, result.err
        report = json.loads((out / "reports" / "mix.json").read_text())
        runs[name] = {"files": {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*/*"))
                                if p.is_file() and "reports" not in p.parts},
                      "report": {k: v for k, v in report.items() if k not in ("seconds", "input", "output")}}
        assert not list(out.rglob(".*.tmp-*"))
    whole = runs["whole"]
    assert sorted(whole["files"]) == [f"documents/big{suffix}", "quarantine/big.jsonl"]
    quarantined = [json.loads(line) for line in whole["files"]["quarantine/big.jsonl"].splitlines()]
    assert [q["line"] for q in quarantined] == sorted(BAD_LINES)
    assert whole["report"]["records"] == len(documents) + len(BAD_LINES) and whole["report"]["dropped"] > 0
    for name in ("k1", "k2"):
        assert runs[name] == whole, name
