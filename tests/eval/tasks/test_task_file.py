"""Declarative task files: a third party's task without Python, and malformed lines named by number."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from olmo_core.plugins import get_host

from olmo_eval.tasks.task_file import TaskFile, TaskFileConfig, TaskFileError

GOOD = [
    {"context": "Question: What is the boiling point of water at sea level?\nAnswer:",
     "choices": ["100 degrees Celsius", "50 degrees Celsius"], "gold": 0, "id": "q1"},
    {"context": ["The trophy did not fit in the case because the trophy", "The trophy did not fit in the case because "
                 "the case"], "choices": ["was too big.", "was too big."], "gold": 0},
]


def write(path: Path, lines: list[str]) -> str:
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_a_task_file_is_a_registered_task_type(tmp_path: Path) -> None:
    path = write(tmp_path / "my_quiz.jsonl", [json.dumps(r) for r in GOOD])
    registry = get_host().registry("tasks")
    _, config = registry.resolve("task_file")
    config.path = path
    task = registry.build(config)
    assert task.name == "my_quiz" and task.metric == "acc_raw"
    first, second = task.instances()
    assert first.continuations == (" 100 degrees Celsius", " 50 degrees Celsius") and first.native_id == "q1"
    assert second.contexts[1].endswith("the case") and second.continuations[0] == " was too big."


@pytest.mark.parametrize(("line", "message"), [
    ("{not json", "line 3: "),
    (json.dumps({"context": "c", "choices": ["a", "b"]}), "line 3: missing 'gold'"),
    (json.dumps({"context": "c", "choices": ["a", "b"], "gold": 2}), "line 3: 'gold' must be the index of a choice"),
    (json.dumps({"context": "c", "choices": ["a"], "gold": 0}), "line 3: 'choices' must be a list of at least two"),
    (json.dumps({"context": ["c"], "choices": ["a", "b"], "gold": 0}), "line 3: 'context' must be a string or"),
    ("[1, 2]", "line 3: expected a JSON object"),
])
def test_a_malformed_line_fails_with_its_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path / "bad.jsonl", [json.dumps(GOOD[0]), "", line, json.dumps(GOOD[0])])
    with pytest.raises(TaskFileError, match=message) as caught:
        TaskFile(TaskFileConfig(path=path)).instances()
    assert str(caught.value).startswith(f"{path} line 3: ")


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="no task file at"):
        TaskFile(TaskFileConfig(path=str(tmp_path / "absent.jsonl"))).instances()
    with pytest.raises(TaskFileError, match="holds no documents"):
        TaskFile(TaskFileConfig(path=write(tmp_path / "empty.jsonl", [""]))).instances()
