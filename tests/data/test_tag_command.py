from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from olmo_core import hookimpl

from tests.conftest import stdlib_documents


def read_rows(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_third_party_tagger_runs_inside_data_tag(dataset: Path, example_plugin: ModuleType, register_plugin: Any,
                                                olmo_cli: Any) -> None:
    register_plugin(example_plugin, "example_length")
    result = olmo_cli("data", "tag", f"input={dataset}", "taggers=[example_length]",
                      "taggers.example_length.min_words=150")
    assert result.exit_code == 0, result.err
    rows = read_rows(dataset / "attributes" / "example_length" / "docs.jsonl.gz")
    records = stdlib_documents()
    assert [r["id"] for r in rows] == [r["id"] for r in records]
    for row, record in zip(rows, records, strict=True):
        words = len(str(record["text"]).split())
        end = len(str(record["text"]))
        assert row["attributes"] == {
            "example_length__example_length__word_count": [[0, end, words]],
            "example_length__example_length__keep": [[0, end, int(words >= 150)]],
        }
    report = json.loads((dataset / "reports" / "tag.json").read_text())
    assert (report["documents"], report["quarantined"]) == (len(records), 0)
    assert ("tagged 12 documents from 1 file with example_length; 12 records in: 12 written, 0 dropped, 0 quarantined"
            in result.err)


def test_bad_lines_are_quarantined_and_counted(tmp_path: Path, example_plugin: ModuleType, register_plugin: Any,
                                              olmo_cli: Any) -> None:
    register_plugin(example_plugin, "example_length")
    docs = tmp_path / "ds" / "documents"
    docs.mkdir(parents=True)
    (docs / "a.jsonl").write_bytes(b'{"id": "1", "text": "one two three"}\nnot json\n{"id": "2"}\n')
    result = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[example_length]", "experiment=exp")
    assert result.exit_code == 0, result.err
    report = json.loads((tmp_path / "ds" / "reports" / "tag.json").read_text())
    assert (report["records"], report["documents"], report["quarantined"]) == (3, 1, 2)
    assert report["quarantine_reasons"] == {"invalid JSON": 1, "missing 'text'": 1}
    quarantined = [json.loads(line) for line in (tmp_path / "ds" / "quarantine" / "a.jsonl").read_text().splitlines()]
    assert [(q["line"], q["reason"]) for q in quarantined] == [(2, "invalid JSON (Expecting value at column 1)"),
                                                               (3, "missing 'text'")]
    row = json.loads((tmp_path / "ds" / "attributes" / "example_length" / "a.jsonl").read_text())
    assert row["attributes"]["exp__example_length__word_count"] == [[0, 13, 3]]


def test_input_without_documents_needs_output(tmp_path: Path, example_plugin: ModuleType, register_plugin: Any,
                                             olmo_cli: Any) -> None:
    register_plugin(example_plugin, "example_length")
    (tmp_path / "loose.jsonl").write_text('{"id": "1", "text": "x"}\n')
    result = olmo_cli("data", "tag", f"input={tmp_path}/*.jsonl", "taggers=[example_length]")
    assert result.exit_code == 2
    assert "is not inside a dataset's documents/ directory: set output=<dir>" in result.err
    ok = olmo_cli("data", "tag", f"input={tmp_path}/*.jsonl", "taggers=[example_length]", f"output={tmp_path}/out")
    assert ok.exit_code == 0 and (tmp_path / "out" / "attributes" / "example_length" / "loose.jsonl").exists()


def test_attribute_and_quarantine_folders_are_not_documents(tmp_path: Path, example_plugin: ModuleType,
                                                            register_plugin: Any, olmo_cli: Any) -> None:
    register_plugin(example_plugin, "example_length")
    docs = tmp_path / "ds" / "documents"
    docs.mkdir(parents=True)
    (docs / "a.jsonl").write_bytes(b'{"id": "1", "text": "one two three"}\nnot json\n')
    assert olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[example_length]").exit_code == 0
    assert (tmp_path / "ds" / "quarantine" / "a.jsonl").exists()
    for folder, output in (("quarantine", []), ("attributes/example_length", [f"output={tmp_path / 'elsewhere'}"])):
        result = olmo_cli("data", "tag", f"input={tmp_path / 'ds' / folder}", "taggers=[example_length]", *output)
        assert result.exit_code == 2, (folder, output, result.err)
        assert result.err.strip().splitlines()[-1] == (
            f"error: input='{tmp_path / 'ds' / folder}' reads {tmp_path / 'ds' / folder.split('/')[0]}/, which "
            f"holds the dataset's {folder.split('/')[0]}, not documents: give input={tmp_path / 'ds'} (its "
            f"documents/) instead")
    assert not (tmp_path / "elsewhere" / "attributes").exists()
    assert sorted(p.name for p in (tmp_path / "ds" / "attributes").iterdir()) == ["example_length"]


def test_workers_fork_from_a_frozen_heap_that_is_thawed_after(dataset: Path, tmp_path: Path, olmo_cli: Any) -> None:
    """The tag job keeps the objects that exist before its workers fork out of the garbage collector's reach while
    they run (gc.freeze) and gives them back after, whether the run succeeds or fails; the attributes of two workers
    over parts of the file are those of one process."""
    import gc
    import shutil

    assert gc.get_freeze_count() == 0
    split = tmp_path / "split"
    shutil.copytree(dataset, split)
    taggers = "taggers=[gopher_quality,gopher_repetition,c4,pii]"
    assert olmo_cli("data", "tag", f"input={dataset}", taggers, "workers=1").exit_code == 0
    assert gc.get_freeze_count() == 0
    result = olmo_cli("data", "tag", f"input={split}", taggers, "workers=2", "part_bytes=2000")
    assert result.exit_code == 0, result.err
    assert gc.get_freeze_count() == 0
    assert json.loads((split / "reports" / "tag.json").read_text())["parts"] > 2
    for name in ("gopher_quality", "gopher_repetition", "c4", "pii"):
        relative = Path("attributes") / name / "docs.jsonl.gz"
        assert (split / relative).read_bytes() == (dataset / relative).read_bytes()
    empty = tmp_path / "empty" / "documents"
    empty.mkdir(parents=True)
    (empty / "a.jsonl").write_text("not json\n")
    assert olmo_cli("data", "tag", f"input={empty.parent}", taggers).exit_code != 0
    assert gc.get_freeze_count() == 0


def test_the_report_counts_documents_by_the_first_rule_they_fail(dataset: Path, tmp_path: Path,
                                                               olmo_cli: Any) -> None:
    import shutil

    split = tmp_path / "split"
    shutil.copytree(dataset, split)
    whole = olmo_cli("data", "tag", f"input={dataset}", "taggers=[gopher_quality,c4,pii]")
    assert whole.exit_code == 0, whole.err
    parts = olmo_cli("data", "tag", f"input={split}", "taggers=[gopher_quality,c4,pii]", "workers=2",
                     "part_bytes=2000")
    assert parts.exit_code == 0, parts.err
    from_attributes: dict[str, int] = {}
    for tagger in ("gopher_quality", "c4", "pii"):
        for row in read_rows(dataset / "attributes" / tagger / "docs.jsonl.gz"):
            reason = row["attributes"].get(f"{tagger}__{tagger}__reason")
            if reason:
                key = f"{tagger}: {reason[0][2]}"
                from_attributes[key] = from_attributes.get(key, 0) + 1
    failing = json.loads((dataset / "reports" / "tag.json").read_text())["failing"]
    assert failing == from_attributes and sum(failing.values()) > 0 and not any(k.startswith("pii") for k in failing)
    assert json.loads((split / "reports" / "tag.json").read_text())["failing"] == failing
    gopher = {k.partition(": ")[2]: n for k, n in failing.items() if k.startswith("gopher_quality: ")}
    documents = "document" if sum(gopher.values()) == 1 else "documents"
    assert f"gopher_quality: {sum(gopher.values())} {documents} fail a rule (keep=0): " in whole.err


@dataclass(kw_only=True)
class MisbehavingConfig:
    returns: str = "string"
    """What the tagger returns: ``string`` (an attribute that is not a list of spans), ``none``, ``span``."""


class Misbehaving:
    """A plugin tagger that returns what no attribute file may hold."""

    def __init__(self, config: MisbehavingConfig) -> None:
        self.returns = config.returns

    def tag(self, document: Any) -> Any:
        return {"string": {"x": "notalist"}, "none": None, "span": {"x": [[0, "end", 1.0]]}}[self.returns]


class MisbehavingPlugin:
    @hookimpl
    def olmo_register_taggers(self, register: Any) -> None:
        register("misbehaving", Misbehaving, config=MisbehavingConfig)


def test_a_tagger_that_returns_no_attribute_spans_is_named_before_anything_is_written(
        dataset: Path, register_plugin: Any, olmo_cli: Any) -> None:
    register_plugin(MisbehavingPlugin(), "misbehaving")
    first = stdlib_documents()[0]["id"]
    for returns, problem in (("string", "attribute 'x' is 'notalist', not a list of [start, end, value] spans"),
                             ("none", "returned NoneType, not a dict of attribute spans"),
                             ("span", "attribute 'x' has the span [0, 'end', 1.0], not [start, end, value]")):
        result = olmo_cli("data", "tag", f"input={dataset}", "taggers=[misbehaving]",
                          f"taggers.misbehaving.returns={returns}")
        assert result.exit_code != 0 and f"error: tagger 'misbehaving' {problem}, for document" in result.err
        assert f"document '{first}' of {dataset / 'documents' / 'docs.jsonl.gz'}" in result.err
        assert not list((dataset / "attributes").rglob("*.gz"))  # no attribute file a filter would misread
