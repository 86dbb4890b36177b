from __future__ import annotations

import gzip
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from olmo_core.errors import ConfigError
from olmo_data.commands.filter import FilterConfig, filter_documents, replace_spans
from tests.conftest import stdlib_documents, two_source_dataset

MAIL = "Questions about the release go to the maintainers at python-dev@python.org or 555-867-5309, thanks."


@pytest.fixture
def tagged(tmp_path: Path, example_plugin: ModuleType, register_plugin: Any, olmo_cli: Any) -> Path:
    register_plugin(example_plugin, "example_length")
    docs = tmp_path / "ds" / "documents"
    docs.mkdir(parents=True)
    records = [*stdlib_documents(), {"id": "mail-1", "text": MAIL, "source": "mail"}]
    with gzip.open(docs / "part.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
        f.write("this line is not JSON\n")
    result = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[example_length,pii]")
    assert result.exit_code == 0, result.err
    return tmp_path / "ds"


def read(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_filter_drops_masks_and_accounts_for_every_record(tagged: Path, tmp_path: Path, olmo_cli: Any) -> None:
    out = tmp_path / "filtered"
    rule = "example_length__example_length__word_count < 150"
    result = olmo_cli("data", "filter", f"input={tagged}", f"output={out}", f"exclude=['{rule}']",
                      "replace=['pii__pii__EMAIL_ADDRESS => |||EMAIL_ADDRESS|||',"
                      "'pii__pii__PHONE_NUMBER => |||PHONE_NUMBER|||']",
                      "include=['count(pii__pii__EMAIL_ADDRESS) < 3']")
    assert result.exit_code == 0, result.err
    records = [*stdlib_documents(), {"id": "mail-1", "text": MAIL, "source": "mail"}]
    long_ids = [r["id"] for r in records if len(str(r["text"]).split()) >= 150]
    kept = read(out / "documents" / "part.jsonl.gz")
    dropped = read(out / "dropped" / "part.jsonl.gz")
    assert [d["id"] for d in kept] == long_ids
    assert {d["id"] for d in dropped} == {r["id"] for r in records} - set(long_ids)
    assert all(d["dropped_by"] == rule for d in dropped)
    report = json.loads((out / "reports" / "filter.json").read_text())
    assert (report["records"], report["kept"], report["dropped"], report["quarantined"]) == \
        (len(records) + 1, len(long_ids), len(records) - len(long_ids), 1)
    assert report["per_source"]["mail"] == {"read": 1, "dropped": 1}
    quarantined = json.loads((out / "quarantine" / "part.jsonl").read_text())
    assert (quarantined["line"], quarantined["reason"]) == (len(records) + 1,
                                                            "invalid JSON (Expecting value at column 1)")
    n = len(records) + 1
    assert f"filtered: {n} records in: {len(long_ids)} written, {n - 1 - len(long_ids)} dropped, 1 quarantined" \
        in result.err
    assert "every document was dropped" not in result.err


def test_a_filter_that_drops_every_document_warns(tagged: Path, tmp_path: Path, olmo_cli: Any) -> None:
    result = olmo_cli("data", "filter", f"input={tagged}", f"output={tmp_path / 'none'}",
                      "exclude=['example_length__example_length__word_count >= 0']")
    assert result.exit_code == 0, result.err
    n = len(stdlib_documents()) + 2
    assert f"warning: every document was dropped or quarantined ({n} of {n}): check the expressions" in result.err


def test_masking_replaces_exactly_the_spans(tagged: Path, tmp_path: Path) -> None:
    masks = ["pii__pii__EMAIL_ADDRESS => |||EMAIL_ADDRESS|||", "pii__pii__PHONE_NUMBER => |||PHONE_NUMBER|||"]
    report = filter_documents(FilterConfig(attributes=["pii"], replace=masks),
                              str(tagged), str(tmp_path / "m"))
    mail = next(d for d in read(tmp_path / "m" / "documents" / "part.jsonl.gz") if d["id"] == "mail-1")
    assert mail["text"] == ("Questions about the release go to the maintainers at |||EMAIL_ADDRESS||| or "
                            "|||PHONE_NUMBER|||, thanks.")
    assert report["spans_replaced"] == {"pii__pii__EMAIL_ADDRESS": 1, "pii__pii__PHONE_NUMBER": 1}


def test_unknown_attribute_key_is_named(tagged: Path, tmp_path: Path, olmo_cli: Any) -> None:
    result = olmo_cli("data", "filter", f"input={tagged}", f"output={tmp_path / 'x'}",
                      "exclude=['example_length__example_length__word_cnt < 3']")
    assert result.exit_code == 2
    assert "names attribute 'example_length__example_length__word_cnt', which the attribute files do not have " \
           "(did you mean 'example_length__example_length__word_count'?)" in result.err
    assert not (tmp_path / "x").exists()  # refused before the job made its work directory


def test_replace_spans_handles_order_and_overlap() -> None:
    assert replace_spans("abcdefgh", [(4, 6, "X"), (0, 2, ""), (5, 7, "Y")]) == "cdXgh"


@pytest.fixture
def two_files(tmp_path: Path, example_plugin: ModuleType, register_plugin: Any, olmo_cli: Any) -> Path:
    """A dataset of two document files tagged by example_length and pii, whose pii lacks the second file."""
    register_plugin(example_plugin, "example_length")
    docs = tmp_path / "two" / "documents"
    docs.mkdir(parents=True)
    records = stdlib_documents()
    for name, part in (("a.jsonl", records[:6]), ("b.jsonl", records[6:])):
        (docs / name).write_text("".join(json.dumps(r) + "\n" for r in part))
    result = olmo_cli("data", "tag", f"input={tmp_path / 'two'}", "taggers=[example_length,pii]")
    assert result.exit_code == 0, result.err
    (tmp_path / "two" / "attributes" / "pii" / "b.jsonl").unlink()
    return tmp_path / "two"


def test_filter_reads_only_the_attributes_its_expressions_name(two_files: Path, tmp_path: Path,
                                                               olmo_cli: Any) -> None:
    rule = "example_length__example_length__word_count < 150"
    report = filter_documents(FilterConfig(exclude=rule), str(two_files), str(tmp_path / "kept"))
    assert report["attributes"] == ["example_length"] and report["complete"] is True
    assert report["records"] == len(stdlib_documents()) == report["kept"] + report["dropped"]
    assert filter_documents(FilterConfig(exclude=["length < 100"]), str(two_files),
                            str(tmp_path / "plain"))["attributes"] == []

    out = tmp_path / "needs-pii"
    result = olmo_cli("data", "filter", f"input={two_files}", f"output={out}",
                      "exclude=['count(pii__pii__EMAIL_ADDRESS) > 0']")
    assert result.exit_code == 2
    assert result.err.strip().splitlines()[-1] == (
        f"error: {two_files}/attributes/pii has no attribute file for 1 of 2 document files (b.jsonl): tag them "
        f"first (olmo data tag input={two_files} taggers=[pii]) or leave 'pii' out of the expressions")
    assert not (out / "documents").exists() and not (out / "reports").exists()


def test_a_filter_that_fails_part_way_leaves_a_report_saying_so(two_files: Path, tmp_path: Path) -> None:
    attributes = two_files / "attributes" / "example_length" / "b.jsonl"
    attributes.write_text(attributes.read_text().splitlines()[0] + "\n")  # the second file's rows cut short
    out = tmp_path / "partial"
    with pytest.raises(ConfigError, match="are not aligned with its documents"):
        filter_documents(FilterConfig(exclude=["example_length__example_length__word_count < 150"]), str(two_files),
                         str(out))
    report = json.loads((out / "reports" / "filter.json").read_text())
    assert (report["complete"], report["files"], report["files_done"]) == (False, 2, 1)
    assert report["documents_written_for"] == ["a.jsonl"] and "not aligned" in report["error"]
    assert report["records"] == 6 and (out / "documents" / "a.jsonl").exists()
    assert not (out / "documents" / "b.jsonl").exists()


def test_input_with_only_quarantined_records_fails_with_its_report(tmp_path: Path, olmo_cli: Any) -> None:
    docs = tmp_path / "bad" / "documents"
    docs.mkdir(parents=True)
    (docs / "a.jsonl").write_text('{"id": "1"}\n{"id": "2"}\nnot json\n')
    out = tmp_path / "out"
    result = olmo_cli("data", "filter", f"input={tmp_path / 'bad'}", f"output={out}", "exclude=['length < 5']")
    assert result.exit_code == 1
    assert result.err.strip().splitlines()[-1] == (
        f"error: olmo data filter: all 3 records of input='{tmp_path / 'bad'}' were quarantined (missing 'text': 2, "
        f"invalid JSON: 1), so there is no document to work on; see {out}/reports/filter.json")
    report = json.loads((out / "reports" / "filter.json").read_text())
    assert (report["records"], report["kept"], report["dropped"], report["quarantined"]) == (3, 0, 0, 3)
    assert report["complete"] is False and (out / ".incomplete").exists()


def test_one_expression_without_list_brackets(tagged: Path, tmp_path: Path, olmo_cli: Any) -> None:
    bare = olmo_cli("data", "filter", f"input={tagged}", f"output={tmp_path / 'x'}", "exclude=length < 0.5")
    assert bare.exit_code == 2
    assert bare.err.strip().splitlines()[-1] == (
        "error: cannot parse override 'exclude=length < 0.5': a value with spaces or symbols must be quoted, as in "
        "\"exclude='length < 0.5'\" (a list: \"exclude=['length < 0.5']\")")
    unquoted_list = olmo_cli("data", "filter", f"input={tagged}", f"output={tmp_path / 'x'}",
                             "exclude=[length < 0.5, count(pii__pii__EMAIL_ADDRESS) > 3]")  # what bash leaves of
    assert unquoted_list.exit_code == 2                                                       # exclude=['...','...']
    assert unquoted_list.err.strip().splitlines()[-1] == (
        "error: cannot parse override 'exclude=[length < 0.5, count(pii__pii__EMAIL_ADDRESS) > 3]': the items of a "
        "list with spaces or symbols must be quoted, and the whole override too, so that the shell keeps the inner "
        "quotes: \"exclude=['length < 0.5','count(pii__pii__EMAIL_ADDRESS) > 3']\"")
    quoted = olmo_cli("data", "filter", f"input={tagged}", f"output={tmp_path / 'y'}", "exclude='length < 500'")
    assert quoted.exit_code == 0, quoted.err
    report = json.loads((tmp_path / "y" / "reports" / "filter.json").read_text())
    assert list(report["dropped_by"]) == ["length < 500"]
    with pytest.raises(ConfigError, match=r"exclude=5 must be a list of expressions"):
        FilterConfig(exclude=5)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("step", "where"), [("filter", "."), ("filter", "documents"), ("filter", "documents/new"),
                                             ("mix", "."), ("decontaminate", ".")])
def test_an_output_overwriting_the_input_is_refused_and_the_input_kept(tagged: Path, olmo_cli: Any, step: str,
                                                                       where: str) -> None:
    before = _snapshot(tagged)
    output = (tagged / where).resolve()
    args = {"filter": ["exclude=['example_length__example_length__word_count < 150']"], "mix": [],
            "decontaminate": ["eval=[]"]}[step]
    result = olmo_cli("data", step, f"input={tagged}", f"output={output}", *args)
    assert result.exit_code == 2, result.err
    refused = "is the input dataset" if where == "." else "lies in the input's documents"
    assert f"output='{output}' {refused}" in result.err
    assert "choose an output folder apart from them" in result.err
    assert _snapshot(tagged) == before  # nothing written, not even the job's record


def test_a_shard_names_its_own_report(tagged: Path, tmp_path: Path, olmo_cli: Any) -> None:
    out = tmp_path / "sharded"
    result = olmo_cli("data", "filter", f"input={tagged}", f"output={out}", "shard=0/2",
                      "exclude=['example_length__example_length__word_count < 150']")
    assert result.exit_code == 0, result.err
    report = out / "reports" / "filter-shard-0-of-2.json"
    assert report.is_file() and f"report: {report}" in result.err


def test_a_run_into_an_earlier_runs_output_leaves_none_of_its_files(tagged: Path, tmp_path: Path,
                                                                   olmo_cli: Any) -> None:
    out = tmp_path / "again"
    first = olmo_cli("data", "filter", f"input={tagged}", f"output={out}",
                     "exclude=['example_length__example_length__word_count < 150']")
    assert first.exit_code == 0, first.err
    assert (out / "dropped" / "part.jsonl.gz").is_file() and (out / "quarantine" / "part.jsonl").is_file()
    documents = tagged / "documents" / "part.jsonl.gz"  # the invalid line mended: nothing to quarantine now
    with gzip.open(documents, "rt", encoding="utf-8") as f:
        lines = [line for line in f if line.startswith("{")]
    with gzip.open(documents, "wt", encoding="utf-8") as f:
        f.writelines(lines)
    retagged = olmo_cli("data", "tag", f"input={tagged}", "taggers=[example_length,pii]")
    assert retagged.exit_code == 0, retagged.err
    second = olmo_cli("data", "filter", f"input={tagged}", f"output={out}", "keep_dropped=false",
                      "exclude=['count(pii__pii__EMAIL_ADDRESS) > 0']")
    assert second.exit_code == 0, second.err
    assert not (out / "dropped" / "part.jsonl.gz").exists() and not (out / "quarantine" / "part.jsonl").exists()
    report = json.loads((out / "reports" / "filter.json").read_text())
    assert (report["dropped"], report["quarantined"], report["dropped_by"]) == (
        1, 0, {"count(pii__pii__EMAIL_ADDRESS) > 0": 1})
    assert [d["id"] for d in read(out / "documents" / "part.jsonl.gz")] == [
        r["id"] for r in stdlib_documents()]


def test_a_filter_reads_the_attributes_of_one_job_of_a_tag_sweep(tmp_path: Path, olmo_cli: Any,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    docs = tmp_path / "ds" / "documents"
    docs.mkdir(parents=True)
    with gzip.open(docs / "part.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in stdlib_documents())
    swept = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[gopher_quality]", "-m",
                     "taggers.gopher_quality.min_doc_words=50,400")
    assert swept.exit_code == 0, swept.err
    jobs = [tmp_path / "ds" / "reports" / "tag" / f"taggers.gopher_quality.min_doc_words={n}" for n in (50, 400)]
    assert sorted(p for p in (tmp_path / "ds" / "reports" / "tag").iterdir() if p.is_dir()) == sorted(jobs)
    kept = []
    for n, job in enumerate(jobs):
        rows = read(job / "attributes" / "gopher_quality" / "part.jsonl.gz")
        expected = [r["id"] for r in rows
                    if r["attributes"]["gopher_quality__gopher_quality__word_count_pass"][0][2] == 1]
        out = tmp_path / f"clean-{n}"
        result = olmo_cli("data", "filter", f"input={tmp_path / 'ds'}", f"attributes_from='{job}'", f"output={out}",
                          "exclude=['gopher_quality__gopher_quality__word_count_pass == 0']")
        assert result.exit_code == 0, result.err
        kept.append([d["id"] for d in read(out / "documents" / "part.jsonl.gz")])
        assert kept[-1] == expected
    assert len(kept[1]) < len(kept[0])  # 400 words is a stricter minimum than 50


@pytest.mark.parametrize("part_bytes", [None, 400])
def test_attribute_files_with_more_rows_than_documents_are_refused(tmp_path: Path, example_plugin: ModuleType,
                                                                   register_plugin: Any, olmo_cli: Any,
                                                                   part_bytes: int | None) -> None:
    register_plugin(example_plugin, "example_length")
    docs = tmp_path / "fx" / "documents"
    docs.mkdir(parents=True)
    records = stdlib_documents()  # 12 documents tagged, then 4 of them fetched again into the same file
    (docs / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    assert olmo_cli("data", "tag", f"input={tmp_path / 'fx'}", "taggers=[example_length]").exit_code == 0
    (docs / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records[:4]))
    message = (f"attributes/example_length of {docs / 'a.jsonl'} have more rows than it has documents (the first "
               f"extra one is 'stdlib-textwrap'); tag the documents again")
    out = tmp_path / "out"
    extra = [f"part_bytes={part_bytes}"] if part_bytes else []
    result = olmo_cli("data", "filter", f"input={tmp_path / 'fx'}", f"output={out}", *extra,
                      "exclude=['example_length__example_length__word_count < 150']")
    assert result.exit_code == 2, result.err
    assert result.err.strip().splitlines()[-1] == f"error: {message}"
    assert not json.loads((out / "reports" / "filter.json").read_text())["complete"]


def test_a_rerun_after_an_input_folder_is_gone_leaves_none_of_its_files(tmp_path: Path, example_plugin: ModuleType,
                                                                        register_plugin: Any, olmo_cli: Any) -> None:
    import shutil

    register_plugin(example_plugin, "example_length")
    root = tmp_path / "rf"
    records = two_source_dataset(root, bad_line=True)
    assert olmo_cli("data", "tag", f"input={root}", "taggers=[example_length]").exit_code == 0
    out = tmp_path / "rf_out"
    rule = "exclude=['example_length__example_length__word_count < 150']"
    assert olmo_cli("data", "filter", f"input={root}", f"output={out}", rule).exit_code == 0
    assert olmo_cli("data", "tag", f"input={out}", "taggers=[example_length]").exit_code == 0  # the output tagged
    gone = "c4/part-00000.jsonl.gz"
    assert all((out / folder / gone).is_file() for folder in ("documents", "dropped", "attributes/example_length"))
    assert (out / "quarantine" / "c4" / "part-00000.jsonl").is_file()
    shutil.rmtree(root / "documents" / "c4")
    again = olmo_cli("data", "filter", f"input={root}", f"output={out}", rule)
    assert again.exit_code == 0, again.err
    assert f"removed 4 stale files that an earlier run left in {out} (for input files that are no longer there)" \
        in again.err
    assert not any((out / folder / "c4").exists() for folder in ("documents", "dropped", "quarantine",
                                                                 "attributes/example_length"))
    kept = [d["id"] for d in read(out / "documents" / "wikipedia" / "part-00000.jsonl.gz")]
    dropped = [d["id"] for d in read(out / "dropped" / "wikipedia" / "part-00000.jsonl.gz")]
    assert sorted(kept + dropped) == sorted(str(r["id"]) for r in records[5:])
    assert [p.relative_to(out / "documents") for p in (out / "documents").rglob("*") if p.is_file()] == [
        Path("wikipedia/part-00000.jsonl.gz")]
    report = json.loads((out / "reports" / "filter.json").read_text())
    assert (report["records"], report["quarantined"], report["stale_files_removed"]) == (len(records) - 5 + 1, 1, 4)
    stats = olmo_cli("data", "stats", f"input={out}", f"output={tmp_path / 'stats'}", "tokenizer=null",
                     "figures=false")
    assert stats.exit_code == 0, stats.err
    assert json.loads((tmp_path / "stats" / "stats.json").read_text())["overall"]["documents"] == len(kept)
