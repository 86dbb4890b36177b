"""``olmo data decontaminate`` only reads its input: the evaluation filter, the marks, the marking report and the
quarantine of the input's bad lines all go under its output."""

from __future__ import annotations

import gzip
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from olmo_data.commands import decontaminate as module
from olmo_data.commands.decontaminate import DecontaminateConfig, decontaminate

FOX = "The quick brown fox jumps over the lazy dog near the riverbank every single morning."
LIGHT = "Photosynthesis converts light energy into chemical energy stored in glucose molecules."


def _dataset(root: Path) -> Path:
    """A dataset of 8 web documents (w2 holds FOX, w5 holds LIGHT) and one invalid line; two evaluation sets,
    ``evA`` (FOX) and ``evB`` (LIGHT)."""
    documents = [{"id": f"w{i}", "source": "web",
                  "text": f"Document number {i} talks about ordinary things at length here.\n"
                          + {2: FOX, 5: LIGHT}.get(i, "")} for i in range(8)]
    (root / "ds" / "documents").mkdir(parents=True)
    with gzip.open(root / "ds" / "documents" / "web.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(d) + "\n" for d in documents)
        f.write("not json\n")
    for name, text in (("evA", FOX), ("evB", LIGHT)):
        (root / name).mkdir()
        (root / name / "e.jsonl").write_text(json.dumps({"id": "e", "text": text}) + "\n")
    return root / "ds"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else b"" for p in sorted(root.rglob("*"))}


def _ids(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["id"] for line in f]


def _make_read_only(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _make_writable(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_a_read_only_input_is_decontaminated_and_left_as_it_was(tmp_path: Path, olmo_cli: Any) -> None:
    ds = _dataset(tmp_path)
    before = _tree(ds)
    _make_read_only(ds)
    out = tmp_path / "clean"
    try:
        result = olmo_cli("data", "decontaminate", f"input={ds}", f"output={out}", f"eval=[{tmp_path / 'evA'}]")
    finally:
        _make_writable(ds)
    assert result.exit_code == 0, result.err
    assert _tree(ds) == before  # no filter, attributes, quarantine or report beside the input (root ignores modes)
    report = json.loads((out / "reports" / "decontaminate.json").read_text())
    assert (report["records"], report["written"], report["dropped"], report["quarantined"]) == (9, 7, 1, 1)
    assert report["filter"] == f"{out}/reports/decontamination/dedup/decontamination.bloom"
    assert _ids(out / "dropped" / "web.jsonl.gz") == ["w2"]
    assert _ids(out / "documents" / "web.jsonl.gz") == ["w0", "w1", "w3", "w4", "w5", "w6", "w7"]
    work = out / "reports" / "decontamination"
    assert (work / "dedup" / "decontamination.bloom").is_file()
    assert _ids(work / "attributes" / "decontamination" / "web.jsonl.gz") == [f"w{i}" for i in range(8)]
    bad = [json.loads(line) for line in (work / "quarantine" / "web.jsonl").read_text().splitlines()]
    assert [(q["line"], q["reason"]) for q in bad] == [(9, "invalid JSON (Expecting value at column 1)")]


def test_the_printed_report_is_the_decontaminate_one(tmp_path: Path, olmo_cli: Any) -> None:
    """The line naming the report names ``reports/decontaminate.json`` (the decontamination summary), not the
    filter step's ``reports/filter.json``."""
    ds, out = _dataset(tmp_path), tmp_path / "clean"
    result = olmo_cli("data", "decontaminate", f"input={ds}", f"output={out}", f"eval=[{tmp_path / 'evA'}]")
    assert result.exit_code == 0, result.err
    printed = [line for line in (result.out + result.err).splitlines() if "report: " in line]
    assert printed == [f"documents: {out}/documents  report: {out}/reports/decontaminate.json"]
    assert json.loads((out / "reports" / "decontaminate.json").read_text())["contaminated_documents"] == 1


def test_the_marking_report_gives_the_filter_false_positive_rate(tmp_path: Path) -> None:
    """The evaluation filter is built at 1e-6; the marking step's report says so in its config too (it said the
    bloom deduper's default, 1e-05, which the loaded filter does not use)."""
    ds, out = _dataset(tmp_path), tmp_path / "clean"
    decontaminate(DecontaminateConfig(eval=[str(tmp_path / "evA")]), str(ds), str(out), {})
    marking = json.loads((out / "reports" / "decontamination" / "reports" / "dedup-decontamination.json").read_text())
    assert marking["config"]["false_positive_rate"] == 1e-6
    assert marking["details"]["target_false_positive_rate"] == 1e-6


def test_runs_against_different_evaluation_sets_of_one_input_keep_apart(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Run B (evaluation set B) starts while run A is between saving its filter and checking the input against
    it, as two concurrent runs on one input do: each still drops only the document its own set contains."""
    ds = _dataset(tmp_path)
    saved = module.saved_evaluation_filter
    started: list[str] = []

    def then_run_b(path: str, *args: Any, **kwargs: Any) -> dict[str, int]:
        per_origin = saved(path, *args, **kwargs)
        if not started:
            started.append("B")
            decontaminate(DecontaminateConfig(eval=[str(tmp_path / "evB")]), str(ds), str(tmp_path / "outB"), {})
        return per_origin

    monkeypatch.setattr(module, "saved_evaluation_filter", then_run_b)
    a = decontaminate(DecontaminateConfig(eval=[str(tmp_path / "evA")]), str(ds), str(tmp_path / "outA"), {})
    b = json.loads((tmp_path / "outB" / "reports" / "decontaminate.json").read_text())
    assert (a["contaminated_documents"], a["kept"]) == (1, 7) and (b["contaminated_documents"], b["kept"]) == (1, 7)
    assert _ids(tmp_path / "outA" / "dropped" / "web.jsonl.gz") == ["w2"]
    assert _ids(tmp_path / "outB" / "dropped" / "web.jsonl.gz") == ["w5"]
    assert sorted(p.relative_to(ds).as_posix() for p in ds.rglob("*")) == ["documents", "documents/web.jsonl.gz"]
