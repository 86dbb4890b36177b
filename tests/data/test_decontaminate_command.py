from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from olmo_core import hookimpl
from olmo_core.plugins import get_host


@pytest.fixture(scope="module")
def leads() -> list[Any]:
    source = get_host().registry("sources").build({"_name_": "wikipedia", "limit": 120})
    return [d for d in source.documents() if len(d.text) > 200]


def write(path: Path, documents: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(d) + "\n" for d in documents)


class QuizTasks:
    """A task plugin whose task offers the evaluation passage as text."""

    def __init__(self, passage: str) -> None:
        self.passage = passage

    @hookimpl
    def olmo_register_tasks(self, register: Any) -> None:
        passage = self.passage

        class Quiz:
            def texts(self) -> list[str]:
                return [passage, "Which is correct?"]

        register("quiz", Quiz)
        register("opaque", lambda: object())


def test_a_document_with_an_evaluation_paragraph_is_dropped(leads: list[Any], tmp_path: Path, olmo_cli: Any,
                                                           register_plugin: Any) -> None:
    c4 = get_host().registry("sources").build({"_name_": "c4", "limit": 20})
    pages = [d.to_json() for d in c4.documents()]
    evaluation, training = leads[:10], leads[10:]
    passage = max(evaluation[3].text.split("\n"), key=len)
    assert len(passage) > 100
    edited = passage.upper().replace(",", "")  # the normalization still matches a re-cased, re-punctuated copy
    pages[5]["text"] = pages[5]["text"] + "\n" + edited + "\nMore text after the copied paragraph."
    write(tmp_path / "ds" / "documents" / "web.jsonl.gz", pages)
    write(tmp_path / "ds" / "documents" / "wiki.jsonl.gz", [d.to_json() for d in training])
    write(tmp_path / "eval" / "eval.jsonl.gz", [d.to_json() for d in evaluation])

    out = tmp_path / "clean"
    result = olmo_cli("data", "decontaminate", f"input={tmp_path / 'ds'}", f"output={out}",
                      f"eval=[{tmp_path / 'eval'}]")
    assert result.exit_code == 0, result.err
    report = json.loads((out / "reports" / "decontaminate.json").read_text())
    assert report["contaminated_documents"] == 1 and report["kept"] == len(pages) - 1 + len(training)
    with gzip.open(out / "dropped" / "web.jsonl.gz", "rt") as f:
        dropped = [json.loads(line) for line in f]
    assert [d["id"] for d in dropped] == [pages[5]["id"]]

    register_plugin(QuizTasks(passage), "quiz-tasks")
    by_task = olmo_cli("data", "decontaminate", f"input={tmp_path / 'ds'}", f"output={tmp_path / 'clean2'}",
                       "tasks=[quiz]")
    assert by_task.exit_code == 0, by_task.err
    assert json.loads((tmp_path / "clean2" / "reports" / "decontaminate.json").read_text())[
        "contaminated_documents"] == 1
    opaque = olmo_cli("data", "decontaminate", f"input={tmp_path / 'ds'}", f"output={tmp_path / 'x'}", "tasks=[opaque]")
    assert opaque.exit_code == 2 and "task 'opaque' offers no texts()" in opaque.err
