"""``olmo eval compare`` of models of different kinds side by side (the OLMo paper's Table 6 layout): an olmo
checkpoint beside random transformers GPT-2 and Llama directories, one column per model and the average last,
the same table in ``accuracy.csv`` and the figure beside it."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import pytest

from olmo_core.stats import Z95
from olmo_core.tokenizer import Tokenizer
from olmo_eval.testing import save_random

pytestmark = pytest.mark.slow

QUIZ = [
    {"context": "The capital of France is", "choices": ["Paris", "a cheese"], "gold": 0},
    {"context": "Water freezes at", "choices": ["zero degrees Celsius", "fifty degrees Celsius"], "gold": 0},
    {"context": "A week has", "choices": ["five days", "seven days", "ten days"], "gold": 1},
]


def _table(markdown: str) -> list[list[str]]:
    """The cells of the first markdown table in ``markdown``, its rule left out."""
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| "))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[start:end] if "---" not in line]


def test_an_olmo_checkpoint_gpt2_and_llama_side_by_side(checkpoint: Path, tokenizer: Tokenizer, tmp_path: Path,
                                                       olmo_cli: Any) -> None:
    models = {"olmo": checkpoint, "gpt2": save_random("gpt2", tmp_path / "gpt2", tokenizer),
              "llama": save_random("llama", tmp_path / "llama", tokenizer)}
    quiz = tmp_path / "quiz.jsonl"
    quiz.write_text("".join(json.dumps(line) + "\n" for line in QUIZ))
    out = tmp_path / "compare"
    result = olmo_cli("eval", "compare", f"checkpoints=[{','.join(map(str, models.values()))}]",
                      f"labels=[{','.join(models)}]", "evaluators=[downstream]", "evaluators.downstream.tasks=[copa]",
                      f"evaluators.downstream.task_files=[{quiz}]", "evaluators.downstream.limit=4", "threads=2",
                      f"output={out}")
    assert result.exit_code == 0, result.err
    assert f"compared {', '.join(models)}; wrote {out}/{{results.md,results.json}}" in result.err
    assert "| task | metric | chance |" in result.out + result.err  # the comparison, shown as well as written

    results = {label: json.loads((out / label / "downstream" / "results.json").read_text()) for label in models}
    assert [results[label]["kind"] for label in models] == ["olmo", "transformers", "transformers"]
    report = (out / "report.md").read_text()
    assert "of olmo (step 7), gpt2, llama, ± the half-width" in report  # transformers directories have no step
    table = _table(report)
    assert table[0] == ["task", "metric", "chance", *models]  # one column per model
    assert [row[0] for row in table[1:]] == ["copa", "quiz", "average"]  # the tasks, then the average
    metrics = json.loads((out / "result.json").read_text())["metrics"]
    for column, label in enumerate(models, start=3):
        tasks = results[label]["tasks"]
        assert {t: tasks[t]["documents"] for t in tasks} == {"copa": 4, "quiz": 3}
        mean = sum(t["accuracy"] for t in tasks.values()) / len(tasks)
        half = Z95 * math.sqrt(sum(t["stderr"] ** 2 for t in tasks.values())) / len(tasks)
        assert table[-1][column] == f"{mean:.3f} ± {half:.3f}"
        assert metrics[f"{label}_mean_accuracy"] == round(mean, 4)
        for row in table[1:-1]:
            task = tasks[row[0]]
            assert row[column] == f"{task['accuracy']:.3f} ± {Z95 * task['stderr']:.3f}"
    assert table[-1][2] == f"{(0.5 + (1 / 2 + 1 / 2 + 1 / 3) / 3) / 2:.3f}"  # the mean chance: copa 1/2, quiz 4/9
    with (out / "accuracy.csv").open(newline="") as f:
        assert list(csv.reader(f)) == table
    assert (out / "accuracy.png").stat().st_size > 0
