"""The ``sft`` and ``dpo`` jobs: each adapts a checkpoint into a checkpoint and reports on it (the same job is
``olmo adapt sft|dpo`` and a pipeline stage)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

SFT = ("method.max_length=96", "method.max_steps=3", "method.eval_examples=8", "method.max_examples=12",
       "method.batch_size=4", "method.micro_batch_size=4", "callbacks.checkpoint.interval=2")


def _result(workdir: Path) -> dict[str, Any]:
    return json.loads((workdir / "result.json").read_text())


def test_sft_then_dpo_chain_their_checkpoints_and_report(olmo_cli: Any, tiny_checkpoint: Path,
                                                         tmp_path: Path) -> None:
    base = tmp_path / "base"  # a run directory: each command starts from its newest checkpoint
    shutil.copytree(tiny_checkpoint, base / "checkpoints" / "step000002")
    sft = olmo_cli("adapt", "sft", f"checkpoint={base}", f"output={tmp_path / 'sft'}", *SFT)
    assert sft.exit_code == 0, sft.err
    result = _result(tmp_path / "sft")
    checkpoint = Path(result["outputs"]["checkpoint"]["path"])
    assert checkpoint.name == "step000003" and result["outputs"]["checkpoint"]["step"] == 3
    assert result["metrics"]["steps"] == 3 and result["metrics"]["sample_answer"] is not None
    report = (tmp_path / "sft" / "report.md").read_text()
    assert report.startswith("## Instruction tuning (SFT)") and "| loss |" in report
    assert "](plots/loss.png)" in report and (tmp_path / "sft" / "plots" / "loss.png").is_file()
    assert "<|user|>\nGive three tips for staying healthy." in report
    refused = olmo_cli("adapt", "sft", f"checkpoint={base}", f"output={tmp_path / 'sft'}", *SFT, "method.lr=5e-4")
    assert refused.exit_code == 2 and "saved with other options: method.lr 0.001 -> 0.0005" in refused.err
    assert (tmp_path / "sft" / "report.md").read_text() == report and _result(tmp_path / "sft") == result  # kept
    again = olmo_cli("adapt", "sft", f"checkpoint={base}", f"output={tmp_path / 'sft'}", *SFT, "sample_prompt=")
    assert again.exit_code == 0, again.err  # the same options resume (here: nothing left to run)

    assert checkpoint.parent.parent == tmp_path / "sft"
    dpo = olmo_cli("adapt", "dpo", f"checkpoint={tmp_path / 'sft'}", f"output={tmp_path / 'dpo'}",
                   "method.max_length=64", "method.max_steps=2", "method.eval_examples=8", "method.max_examples=8",
                   "method.batch_size=4", "method.micro_batch_size=4", f"method.reference_cache={tmp_path / 'cache'}",
                   "callbacks.checkpoint.interval=2", "sample_prompt=")
    assert dpo.exit_code == 0, dpo.err
    result = _result(tmp_path / "dpo")
    assert Path(result["outputs"]["checkpoint"]["path"]).parent.parent == tmp_path / "dpo"
    assert result["metrics"]["steps"] == 2 and "rewards/accuracies" in result["metrics"]
    report = (tmp_path / "dpo" / "report.md").read_text()
    assert "| rewards/accuracies | 0.0000 |" in report and "](plots/rewards.png)" in report
    assert "Sample conversation" not in report


def test_the_sft_command_refuses_another_method_before_making_its_run_directory(olmo_cli: Any, tiny_checkpoint: Path,
                                                                               tmp_path: Path) -> None:
    result = olmo_cli("adapt", "sft", f"checkpoint={tiny_checkpoint}", f"output={tmp_path / 'sft'}", "method=dpo")
    assert result.exit_code == 2
    assert ("`olmo adapt sft` (and a pipeline's sft stage) runs sft or its presets, not 'dpo': use `olmo adapt dpo` "
            "(in a pipeline, a `dpo` stage)") in result.err
    assert not (tmp_path / "sft").exists()


@pytest.mark.parametrize(("method", "other"), [("sft", "dpo"), ("dpo", "sft")])
def test_a_method_commands_help_describes_that_method_alone(olmo_cli: Any, method: str, other: str) -> None:
    """`olmo adapt sft --help` lists sft (and its presets) among the methods, not dpo, which it refuses; and the
    other way round. `olmo adapt --help` (any method) lists both."""
    result = olmo_cli("adapt", method, "--help")
    assert result.exit_code == 0, result.err
    components = result.out.split("\ncomponents")[1].split("\n  backend=<name>")[0]
    assert f"\n    {method} (presets: " in components
    assert f"\n    {other} " not in components and other not in result.out.replace("adamw", "")
    both = olmo_cli("adapt", "--help").out.split("\n  backend=<name>")[0]
    assert "\n    sft (presets: " in both and "\n    dpo (presets: " in both


def test_a_run_that_ends_inside_warmup_names_the_method_option_to_lower(olmo_cli: Any, tiny_checkpoint: Path,
                                                                        tmp_path: Path) -> None:
    """adapt sets the trainer's warmup from method.warmup_ratio: the warning names that option, not the trainer's
    scheduler.warmup_steps, which adapt's users do not set."""
    result = olmo_cli("adapt", "sft", f"checkpoint={tiny_checkpoint}", f"output={tmp_path / 'sft'}",
                      *(o for o in SFT if not o.startswith(("method.max_steps", "callbacks"))), "method.max_steps=2",
                      "method.warmup_ratio=1.0", "sample_prompt=", "callbacks=[metrics]")
    assert result.exit_code == 0, result.err
    assert ("scheduler.warmup_steps=2 is not below max_steps=2: the run ends inside warmup, at 50% of the peak "
            "learning rate; lower method.warmup_ratio (now 1) or train more steps (method.max_steps, method.epochs) "
            "for the schedule to reach its peak") in " ".join(result.err.split())


def test_the_rerun_check_reads_the_runs_trainer_state_once(olmo_cli: Any, tiny_checkpoint: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """check_rerun takes the saved run's steps (hence its warmup) and compares its options from one read of the
    newest checkpoint's trainer.json."""
    options = (f"checkpoint={tiny_checkpoint}", f"output={tmp_path / 'sft'}", "sample_prompt=", "callbacks=[metrics]",
               *(o for o in SFT if not o.startswith(("method.max_steps", "callbacks"))), "method.max_steps=1")
    assert olmo_cli("adapt", "sft", *options).exit_code == 0
    reads = []
    read_text = Path.read_text

    def counted(self: Path, *args: Any, **kwargs: Any) -> str:
        if self.name == "trainer.json" and tmp_path / "sft" in self.parents:
            reads.append(self)
        return read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", counted)
    refused = olmo_cli("adapt", "sft", *options, "method.lr=5e-4")
    assert refused.exit_code == 2 and "saved with other options: method.lr 0.001 -> 0.0005" in refused.err
    assert reads == [tmp_path / "sft" / "checkpoints" / "step000001" / "trainer.json"]


def test_a_refused_rerun_names_adapts_options_and_how_to_start_over(olmo_cli: Any, tiny_checkpoint: Path,
                                                                    tmp_path: Path) -> None:
    """The refusal says method.lr, method.max_length, adapt's resumable options and output=, not the trainer's
    optim.lr, seq_len, max_steps or a run name."""
    options = (f"checkpoint={tiny_checkpoint}", f"output={tmp_path / 'sft'}", "sample_prompt=",
               "callbacks=[checkpoint]", *(o for o in SFT if not o.startswith(("method.max_steps", "callbacks"))),
               "method.max_steps=1")
    assert olmo_cli("adapt", "sft", *options).exit_code == 0
    step = tmp_path / "sft" / "checkpoints" / "step000001"
    lr = olmo_cli("adapt", "sft", *options, "method.lr=5e-4")
    said = " ".join(lr.err.split())
    assert lr.exit_code == 2 and "saved with other options: method.lr 0.001 -> 0.0005. Only method.max_steps, " in said
    assert "optim." not in said and "run name" not in said
    assert f"may change on resume: use a new output= (a new run starts from these weights with checkpoint={step})" \
        in said
    length = olmo_cli("adapt", "sft", *options, "method.max_length=80")
    said = " ".join(length.err.split())
    assert length.exit_code == 2 and "method.max_length 96 -> 80" in said and "seq_len" not in said
    examples = olmo_cli("adapt", "sft", *options, "method.max_examples=10")
    said = " ".join(examples.err.split())
    assert examples.exit_code == 2 and "method.max_examples 12 -> 10" in said and "new output=" in said
    assert "run name" not in said


DPO = ("method.max_length=64", "method.eval_examples=4", "method.warmup_ratio=0.5", "method.max_examples=8",
       "method.batch_size=4", "method.micro_batch_size=4", "callbacks=[checkpoint]", "callbacks.checkpoint.interval=1",
       "sample_prompt=")


def test_a_dpo_rerun_that_changes_the_objective_the_reference_or_the_data_is_refused(
        olmo_cli: Any, tiny_checkpoint: Path, tmp_path: Path) -> None:
    """Resuming trains on with the checkpoint's state: a rerun that changes method.loss, method.beta,
    method.reference or the data file's content (the same count of pairs) would train the last steps on another
    objective and describe the whole run by it; it is refused, naming adapt's options, before the run's record
    changes. max_steps stays resumable (with method.warmup_ratio=0.5, 3 steps warm up for 2 where 2 warmed up for 1).
    """
    from olmo_core.cli import invoke

    pairs = [{"prompt": f"Question {i}?", "chosen": f"Answer {i}.", "rejected": f"No {i}."} for i in range(12)]
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    other = tmp_path / "other"
    invoke(["model", "init", f"output={other}", "seed=1", "tokenizer=olmo-v1.5", "model.d_model=32", "model.n_heads=2",
            "model.n_layers=2", "model.mlp_hidden_size=128", "model.max_sequence_length=512"])
    options = (f"checkpoint={tiny_checkpoint}", f"output={tmp_path / 'dpo'}", f"method.data={data}",
               f"method.reference_cache={tmp_path / 'cache'}", *DPO)
    first = olmo_cli("adapt", "dpo", *options, "method.max_steps=2")
    assert first.exit_code == 0, first.err
    report = (tmp_path / "dpo" / "report.md").read_text()
    step = tmp_path / "dpo" / "checkpoints" / "step000002"
    for changed, said in ((("method.beta=0.5", "method.loss=ipo"), "method.beta 0.1 -> 0.5; method.loss dpo -> ipo"),
                          ((f"method.reference={other}",), f"method.reference (unset) -> {other}"),
                          ((), "the content of method.data (sha256) ")):
        if not changed:
            pairs[0]["chosen"] = "Another answer."
            data.write_text("".join(json.dumps(p) + "\n" for p in pairs))
        refused = olmo_cli("adapt", "dpo", *options, "method.max_steps=4", *changed)
        err = " ".join(refused.err.split())
        assert refused.exit_code == 2 and f"the run resumes from {step}, saved with other options: {said}" in err
        assert f"use a new output= (a new run starts from these weights with checkpoint={step})" in err
        assert (tmp_path / "dpo" / "report.md").read_text() == report  # the finished run's record is kept
    pairs[0]["chosen"] = "Answer 0."
    data.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    longer = olmo_cli("adapt", "dpo", *options, "method.max_steps=3")
    assert longer.exit_code == 0, longer.err
    assert _result(tmp_path / "dpo")["metrics"]["steps"] == 3


def test_an_sft_rerun_that_turns_packing_on_is_refused(olmo_cli: Any, tiny_checkpoint: Path, tmp_path: Path) -> None:
    options = (f"checkpoint={tiny_checkpoint}", f"output={tmp_path / 'sft'}", "sample_prompt=",
               "callbacks=[checkpoint]", *(o for o in SFT if not o.startswith(("method.max_steps", "callbacks"))))
    assert olmo_cli("adapt", "sft", *options, "method.max_steps=1").exit_code == 0
    refused = olmo_cli("adapt", "sft", *options, "method.max_steps=2", "method.packing=true")
    said = " ".join(refused.err.split())
    assert refused.exit_code == 2 and "saved with other options: method.packing False -> True. Only " in said


def test_the_dpo_report_names_the_reference_it_used(olmo_cli: Any, tiny_checkpoint: Path, tmp_path: Path) -> None:
    """With method.reference=<dir>, the report says that checkpoint is the reference, not the starting model."""
    from olmo_core.cli import invoke

    other = tmp_path / "other"
    invoke(["model", "init", f"output={other}", "seed=1", "tokenizer=olmo-v1.5", "model.d_model=32", "model.n_heads=2",
            "model.n_layers=2", "model.mlp_hidden_size=128", "model.max_sequence_length=512"])
    common = (f"checkpoint={tiny_checkpoint}", f"method.reference_cache={tmp_path / 'cache'}", "method.max_steps=1",
              *DPO)
    dpo = olmo_cli("adapt", "dpo", *common, f"output={tmp_path / 'dpo'}", f"method.reference={other}")
    assert dpo.exit_code == 0, dpo.err
    report = " ".join((tmp_path / "dpo" / "report.md").read_text().split())
    assert f"beta 0.1, reference = `{other}` (log-probs cached)" in report and "the starting model" not in report
    plain = olmo_cli("adapt", "dpo", *common, f"output={tmp_path / 'plain'}")
    assert plain.exit_code == 0, plain.err
    assert "reference = the starting model" in " ".join((tmp_path / "plain" / "report.md").read_text().split())
