"""``olmo eval downstream`` and ``olmo eval perplexity`` end to end on a small real checkpoint, and the same
numbers from its transformers export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow


def read(path: Path) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
    results = json.loads((path / "results.json").read_text())
    samples = [json.loads(line) for line in (path / "samples.jsonl").read_text().splitlines()]
    return results, samples, (path / "results.md").read_text()


def test_downstream_on_an_olmo_checkpoint_and_its_transformers_export(checkpoint: Path, tmp_path: Path,
                                                                      olmo_cli: Any) -> None:
    task_file = tmp_path / "quiz.jsonl"
    task_file.write_text(json.dumps({"context": "The capital of France is", "choices": ["Paris", "a cheese"],
                                     "gold": 0}) + "\n")
    args = ("tasks=[copa,winogrande,arc_easy]", "limit=4", f"task_files=[{task_file}]", "threads=2")
    result = olmo_cli("eval", "downstream", f"checkpoint={checkpoint}", f"output={tmp_path / 'olmo'}", *args)
    assert result.exit_code == 0, result.err
    assert "| copa | acc_raw |" in result.out and "scored in" in result.err and "acc_raw" not in result.err
    results, samples, table = read(tmp_path / "olmo")
    assert set(results["tasks"]) == {"copa", "winogrande", "arc_easy", "quiz"} and results["step"] == 7
    assert results["tasks"]["copa"]["chance"] == 0.5 and results["tasks"]["copa"]["documents"] == 4
    assert len(samples) == 4 * 2 + 4 * 2 + sum(1 for s in samples if s["task"] == "arc_easy") + 2
    assert {"ll", "ll_uncond", "tokens", "chars", "bytes", "context", "continuation", "gold"} <= set(samples[0])
    assert table.startswith("# Downstream evaluation") and "| arc_easy | acc_uncond |" in table
    assert json.loads((tmp_path / "olmo" / "result.json").read_text())["outputs"]["results"]["type"] == "eval_results"

    exported = olmo_cli("model", "export-hf", f"checkpoint={checkpoint}", f"output={tmp_path / 'hf'}")
    assert exported.exit_code == 0, exported.err
    again = olmo_cli("eval", "downstream", f"checkpoint={tmp_path / 'hf'}", f"output={tmp_path / 'from-hf'}", *args)
    assert again.exit_code == 0, again.err
    hf_results, hf_samples, _ = read(tmp_path / "from-hf")
    assert hf_results["kind"] == "hf"
    assert [s["ll"] for s in hf_samples] == pytest.approx([s["ll"] for s in samples], abs=1e-5)
    assert [s["ll_uncond"] for s in hf_samples] == pytest.approx([s["ll_uncond"] for s in samples], abs=1e-5)
    assert {t: r["metrics"] for t, r in hf_results["tasks"].items()} == \
        {t: r["metrics"] for t, r in results["tasks"].items()}


def test_perplexity_on_documents_and_its_transformers_export(checkpoint: Path, dataset: Path, tmp_path: Path,
                                                             olmo_cli: Any) -> None:
    result = olmo_cli("eval", "perplexity", f"checkpoint={checkpoint}", f"input={dataset}",
                      f"output={tmp_path / 'ppl'}", "window=64", "domain_key=module")
    assert result.exit_code == 0, result.err
    results, samples, table = read(tmp_path / "ppl")
    assert list(results["sources"]) == ["python-docs"] and results["sources"]["python-docs"]["domains"] == 12
    assert len(samples) == 12 and "| python-docs | json |" in table
    for sample in samples:
        assert sample["bits_per_byte"] == pytest.approx(-sample["ll"] / (0.6931471805599453 * sample["bytes"]))
    exported = olmo_cli("model", "export-hf", f"checkpoint={checkpoint}", f"output={tmp_path / 'hf'}")
    assert exported.exit_code == 0, exported.err
    again = olmo_cli("eval", "perplexity", f"checkpoint={tmp_path / 'hf'}", f"input={dataset}",
                     f"output={tmp_path / 'ppl-hf'}", "window=64", "domain_key=module")
    assert again.exit_code == 0, again.err
    hf_results, hf_samples, _ = read(tmp_path / "ppl-hf")
    assert [s["ll"] for s in hf_samples] == pytest.approx([s["ll"] for s in samples], abs=1e-5)
    assert hf_results["bits_per_byte"] == pytest.approx(results["bits_per_byte"], abs=1e-7)


def test_a_tokenizer_that_does_not_fit_fails_in_one_line(checkpoint: Path, tmp_path: Path, olmo_cli: Any) -> None:
    result = olmo_cli("eval", "downstream", f"checkpoint={checkpoint}", f"output={tmp_path}", "tokenizer=dolma2",
                      "tasks=[copa]")
    assert result.exit_code != 0
    assert "has 100,278 tokens but the model's vocabulary has 50,280" in result.err
    assert "Traceback" not in result.err
