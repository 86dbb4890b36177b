from __future__ import annotations

from pathlib import Path

from olmo_core.artifacts import Checkpoint, Dataset, EvalResults, JobRecord, TokenArrays
from olmo_core.jobs import markdown_table, text_table
from olmo_core.token_arrays import TokenArrayWriter


def test_each_artifact_is_complete_only_with_its_contents_and_without_the_incomplete_marker(tmp_path: Path) -> None:
    empty, full = tmp_path / "empty", tmp_path / "full"
    empty.mkdir()
    full.mkdir()
    (full / "a.jsonl").write_text('{"id": "1", "text": "one"}\n')
    writer = TokenArrayWriter(full / "part-0", tokenizer={"name": "t"}, eos_token_id=9, vocab_size=10)
    writer.add([1, 2, 3], document_id="1", source="s", line=1)
    writer.close(input="a.jsonl")
    for marker in ("manifest.json", "results.json", "result.json"):
        (full / marker).write_text("{}")
    types = (Dataset, TokenArrays, Checkpoint, EvalResults, JobRecord)
    assert [t(path=str(empty)).is_complete() for t in types] == [False] * 5
    assert [t(path=str(tmp_path / "missing")).is_complete() for t in types] == [False] * 5
    assert [t(path=str(full)).is_complete() for t in types] == [True] * 5
    assert Dataset(path=str(full / "*.jsonl")).is_complete()  # a glob names a dataset too
    (full / ".incomplete").write_text("")
    assert [t(path=str(full)).is_complete() for t in types] == [False] * 5


def test_markdown_table() -> None:
    assert markdown_table(["run", "loss"], [["a", 1.5], ("b", None)]) == \
        ["| run | loss |", "|---|---|", "| a | 1.5 |", "| b | None |"]


def test_text_table() -> None:
    rows = [["source", "docs", "note"], ["c4", "1,000", "web"], ["wikipedia", "12", ""]]
    assert text_table(rows, right=[1]) == ["source      docs  note", "c4         1,000  web", "wikipedia     12  "]
    assert text_table(rows, right=[1, 2])[2] == "wikipedia     12      "
    assert text_table([]) == []
