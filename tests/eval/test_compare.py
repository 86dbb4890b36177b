"""``olmo eval compare`` (the pipeline's ``evaluate`` job) evaluates several checkpoints side by side with the
evaluators it selects from the registry, a third party's included, and reports them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from olmo_core.jobs import JobResult
from olmo_core.stats import Z95
from olmo_eval.jobs import model_labels



def test_compare_reports_accuracy_beside_chance_bits_per_byte_and_a_third_party_evaluator(
        checkpoint: Path, tmp_path: Path, olmo_cli: Any, sentence_evaluator: str) -> None:
    out = tmp_path / "compare"
    result = olmo_cli("eval", "compare", f"checkpoints=[{checkpoint},{checkpoint}]", "labels=[base,DPO]",
                      f"evaluators=[downstream,perplexity,{sentence_evaluator}]",
                      "evaluators.downstream.tasks=[copa,sciq]",
                      "evaluators.downstream.limit=4", "evaluators.perplexity.held_out=[c4]",
                      "evaluators.perplexity.max_documents=2", f"output={out}")  # the same model twice
    assert result.exit_code == 0, result.err
    metrics = json.loads((out / "result.json").read_text())["metrics"]
    assert [e["model"] for e in metrics["evaluated"]] == ["base", "DPO"]
    assert set(metrics["accuracy"]) == {"base", "DPO"} and set(metrics["accuracy"]["base"]) == {"copa", "sciq"}
    assert metrics["accuracy"]["base"] == metrics["accuracy"]["DPO"]
    assert metrics["chance"] == {"copa": 0.5, "sciq": 0.25}
    assert metrics["base_mean_accuracy"] == round(sum(metrics["accuracy"]["base"].values()) / 2, 4)
    assert metrics["bits_per_byte"]["base"]["c4"] == metrics["bits_per_byte"]["DPO"]["c4"] > 0
    assert metrics["base_bits_per_byte"] == metrics["DPO_bits_per_byte"] == \
        round(metrics["bits_per_byte"]["base"]["c4"], 4)
    loss = metrics["sentence"]["base"]["sentence/loss"]
    assert loss == metrics["sentence"]["DPO"]["sentence/loss"] > 0
    report = (out / "report.md").read_text()
    assert report.startswith("## Evaluation\n\nDownstream accuracy (each task's primary metric, the paper's choice) "
                             "of base (step 7), DPO (step 7), ± the half-width of its 95% interval (1.96 standard "
                             "errors over documents), beside chance:")
    assert "| task | metric | chance | base | DPO |" in report and "| copa | acc_raw | 0.500 |" in report
    half = Z95 * metrics["stderr"]["base"]["copa"]
    assert f"| {metrics['accuracy']['base']['copa']:.3f} ± {half:.3f} |" in report and half > 0
    assert "- copa: DPO vs base: +0.000 (p=1, within noise)" in report  # the same model: no discordant pairs
    assert f"**{metrics['base_bits_per_byte']:.3f}** ± " in report
    assert "| c4 |" in report and f"| sentence/loss | {loss:.4f} | {loss:.4f} |" in report
    assert report.rstrip().endswith("![accuracy](accuracy.png)\n![bits_per_byte](bits_per_byte.png)")
    assert (out / "accuracy.png").is_file() and (out / "base" / "downstream" / "samples.jsonl").is_file()
    assert (out / "DPO" / "perplexity" / "results.md").is_file() and (out / "results.json").is_file()
    assert json.loads((out / "base" / "sentence" / "results.json").read_text())["step"] == 7

    unlabeled = olmo_cli("eval", "compare", f"checkpoints=[{checkpoint},{checkpoint}]", "labels=[]",
                         f"output={tmp_path / 'again'}")
    run = checkpoint.parent.parent  # the same model twice: the same name, its whole path
    assert unlabeled.exit_code != 0 and f"distinct labels, not ['{run}', '{run}']" in unlabeled.err


def _finished(run: Path, job: str) -> str:
    """A step directory of ``run``, whose ``result.json`` says that ``job`` made it."""
    (run / "checkpoints" / "step000010").mkdir(parents=True)
    (run / "result.json").write_text(json.dumps(JobResult(job=job).to_json()))
    return str(run / "checkpoints" / "step000010")


def test_models_are_named_after_the_job_that_made_them_else_after_their_directories(tmp_path: Path) -> None:
    base, sft, dpo = (_finished(tmp_path / name, job) for name, job in
                      [("pre", "train"), ("tuned", "adapt sft"), ("pref", "adapt dpo")])
    assert model_labels([dpo, base]) == ["DPO", "base"]  # not by position
    assert model_labels([base, sft, dpo]) == ["base", "SFT", "DPO"]
    (tmp_path / "hf" / "tiny").mkdir(parents=True)
    (tmp_path / "imported" / "tiny").mkdir(parents=True)
    assert model_labels([str(tmp_path / "hf" / "tiny/"), str(tmp_path / "imported" / "tiny"), sft]) == \
        ["hf/tiny", "imported/tiny", "SFT"]
    other = _finished(tmp_path / "second", "train")
    assert model_labels([base, other, dpo]) == ["pre", "second", "DPO"]  # two base models: their directories


def test_the_smoke_preset_keys_configure_the_pipeline_evaluate_job(checkpoint: Path, olmo_compose: Any) -> None:
    from olmo_core.pipeline.runner import plan_stages

    config = olmo_compose("pipeline", ["stages=[evaluate]", f"inputs.evaluate.checkpoints=[{checkpoint}]",
                                       "pipeline=smoke"])
    evaluators = plan_stages(config.stages, config.inputs)[0].config.evaluators
    assert list(evaluators["downstream"].tasks) == ["copa", "sciq"]
    assert evaluators["downstream"].limit == 8
    assert evaluators["perplexity"].held_out == ["c4", "wikipedia"] and evaluators["perplexity"].max_documents == 1


def test_a_missing_perplexity_input_is_refused_before_any_model_loads(checkpoint: Path, tmp_path: Path,
                                                                      olmo_cli: Any) -> None:
    missing = tmp_path / "no-such-dataset"
    for args in (["eval", "perplexity", f"checkpoint={checkpoint}", f"input={missing}"],
                 ["eval", "compare", f"checkpoints=[{checkpoint}]", "evaluators=[perplexity]",
                  f"evaluators.perplexity.input={missing}"]):
        result = olmo_cli(*args, f"output={tmp_path / 'out'}")
        assert result.exit_code != 0 and f"input={missing} does not exist" in result.err
        assert "evaluating" not in result.err and not (tmp_path / "out").exists()
