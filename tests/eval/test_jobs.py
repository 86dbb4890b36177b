"""The evaluation jobs' checks: a mistake in the evaluators' options is refused in one line naming its key before
any model loads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.mark.parametrize("args, said", [
    (["tasks=[]"], "no tasks to evaluate"),
    (["tasks=[copa]", "tasks.copa.metric=acc_foo"], "tasks.copa: task metric 'acc_foo' is not one of"),
    (["tasks=[copa]", "task_files=[{tmp}/missing.jsonl]"], "task_files: no task file at {tmp}/missing.jsonl"),
    (["tasks=[copa]", "task_files=[{tmp}/bad.jsonl]"], "task_files: {tmp}/bad.jsonl line 2: 'choices' must be"),
    (["tasks=[task_file]", "tasks.task_file.path={tmp}/bad.jsonl"], "tasks.task_file: {tmp}/bad.jsonl line 2"),
    (["tasks=[mmlu]", "tasks.mmlu.subjects=[anatomyy]"], "tasks.mmlu: unknown MMLU subjects anatomyy"),
    (["tasks=[mmlu]", "tasks.mmlu.shots=9"], "tasks.mmlu: MMLU shots must be 0 to 5"),
    (["tasks=[arc_easy]", "tasks.arc_easy.metric=acc_uncond", "unconditional=false"],
     "tasks.arc_easy.metric=acc_uncond needs the unconditional requests"),
])
@pytest.mark.parametrize("command", ["downstream", "compare"])
def test_a_downstream_mistake_is_refused_before_the_model_loads(checkpoint: Path, tmp_path: Path, olmo_cli: Any,
                                                                args: list[str], said: str, command: str) -> None:
    good = '{"context": "The sky is", "choices": [" blue", " green"], "gold": 0}'
    (tmp_path / "bad.jsonl").write_text(good + '\n{"context": "x", "choices": ["a"], "gold": 0}\n')
    args = [arg.format(tmp=tmp_path) for arg in args]
    if command == "downstream":
        result = olmo_cli("eval", "downstream", f"checkpoint={checkpoint}", *args, f"output={tmp_path / 'out'}")
    else:
        args = [f"evaluators.downstream.{arg}" for arg in args]
        result = olmo_cli("eval", "compare", f"checkpoints=[{checkpoint}]", "evaluators=[downstream]", *args,
                          f"output={tmp_path / 'out'}")
        said = said if said.startswith("no ") else "evaluators.downstream." + said
    error = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert result.exit_code != 0 and len(error) == 1 and said.format(tmp=tmp_path) in error[0], result.err
    assert "evaluating" not in result.err and "Traceback" not in result.err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["perplexity", "compare"])
def test_an_unknown_held_out_set_is_refused_before_the_model_loads(checkpoint: Path, tmp_path: Path, olmo_cli: Any,
                                                                   command: str) -> None:
    if command == "perplexity":
        result = olmo_cli("eval", "perplexity", f"checkpoint={checkpoint}", "held_out=[c5]", f"output={tmp_path}/o")
    else:
        result = olmo_cli("eval", "compare", f"checkpoints=[{checkpoint}]", "evaluators=[perplexity]",
                          "evaluators.perplexity.held_out=[c5]", f"output={tmp_path}/o")
    prefix = "evaluators.perplexity." if command == "compare" else ""
    assert result.exit_code != 0 and f"{prefix}held_out names c5, not in its sets" in result.err
    assert "evaluating" not in result.err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, said", [
    (["checkpoints=[]"], "needs the models to compare: checkpoints=[<run or step dir>,...]"),
    (["checkpoints=[{ckpt}]", "labels=[a,b,c]"], "labels=[a,b,c] names 3 models but checkpoints= gives 1"),
    (["checkpoints=[{ckpt},{ckpt}]", "labels=[a,a]"], "needs checkpoints with distinct labels, not ['a', 'a']"),
])
def test_compare_refuses_labels_that_do_not_fit_its_checkpoints(checkpoint: Path, tmp_path: Path, olmo_cli: Any,
                                                                 args: list[str], said: str) -> None:
    result = olmo_cli("eval", "compare", *(arg.format(ckpt=checkpoint) for arg in args), "evaluators=[downstream]",
                      f"output={tmp_path / 'out'}")
    assert result.exit_code != 0 and said in result.err, result.err
    assert "evaluating" not in result.err and "Traceback" not in result.err and not (tmp_path / "out").exists()
