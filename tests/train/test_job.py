"""``olmo train`` as a new user walks it: wrong inputs explained, a finished run kept usable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from olmo_core.artifacts import Checkpoint
from olmo_core.errors import ConfigError

from tests.train.conftest import SMALL_MODEL, config, make_trainer


def test_a_dataset_given_as_data_says_to_tokenize_it(olmo_cli: Any, tokens: Path, tmp_path: Path) -> None:
    ds = tokens.parent / "ds"
    result = olmo_cli("train", f"data=[{ds}]", f"output={tmp_path / 'run'}")
    assert (result.exit_code, result.err) == (2, f"error: input 'data' of job 'pretrain': {ds} is a dataset "
                                                 f"(documents/), not token arrays: run `olmo data tokenize "
                                                 f"input={ds} output=<dir>` first\n")
    assert olmo_cli("train").err == "error: `olmo train` needs a value for 'data': add data=[<token arrays dir>]\n"


def test_a_refused_rerun_leaves_the_finished_run_usable(olmo_cli: Any, tokens: Path, tmp_path: Path) -> None:
    run = tmp_path / "t3"
    args = [*SMALL_MODEL, f"data=[{tokens}]", f"output={run}", "seq_len=32", "global_batch_size=256", "max_steps=1",
            "threads=1"]
    assert olmo_cli("train", args).exit_code == 0
    report = (run / "report.md").read_text()
    for option, refusal in (("seed=3", "saved with other options: seed"),  # micro_batch_size may change now
                            ("optim.lr=0.5", "saved with other options: optim.lr")):
        refused = olmo_cli("train", args, option)
        assert refused.exit_code == 2 and refusal in refused.err
        assert Checkpoint(path=str(run)).is_complete()
        assert (run / "report.md").read_text() == report and (run / "result.json").is_file()  # the record is kept


@pytest.mark.parametrize(("options", "why"), [
    (["seq_len=48"], "global_batch_size=256 must be a whole number of instances of seq_len=48, divisible by the "
                     "world size 1"),
    (["micro_batch_size=3"], "micro_batch_size=3 must divide the 8 instances each rank gets of a global batch (a "
                             "run may resume with another micro_batch_size, as with another world size)"),
    (["backend=fsdp", "backend.replicas=3", "launcher.nproc=2", "micro_batch_size=4"],  # once, before the workers start
     "backend.replicas=3 must be at least 1 and divide the world size 2"),
    (["launcher.nproc=3"], "global_batch_size=256 must be a whole number of instances of seq_len=32, divisible by "
                           "the world size 3")])
def test_a_batch_that_does_not_divide_is_refused_before_anything_is_written(olmo_cli: Any, tokens: Path,
                                                                            tmp_path: Path, options: list[str],
                                                                            why: str) -> None:
    run = tmp_path / "run"
    result = olmo_cli("train", *SMALL_MODEL, f"data=[{tokens}]", f"output={run}", "seq_len=32",
                      "global_batch_size=256", "max_steps=1", "threads=1", *options)
    assert (result.exit_code, result.err) == (2, f"error: {why}\n")
    assert not run.exists()


def test_data_of_a_larger_vocabulary_than_the_model_s_is_refused_before_anything_is_written(
        olmo_cli: Any, tokens: Path, tmp_path: Path) -> None:
    dolma2 = tmp_path / "dolma2"
    assert olmo_cli("data", "tokenize", f"input={tokens.parent / 'ds'}", f"output={dolma2}",
                    "tokenizer=dolma2").exit_code == 0
    run = tmp_path / "run"
    refused = olmo_cli("train", f"data=[{dolma2}]", f"output={run}", "model=olmo-tiny", "seq_len=32",
                      "global_batch_size=256", "max_steps=1")
    assert (refused.exit_code, refused.err) == (2, (
        f"error: the token arrays {dolma2} were made with the tokenizer dolma2, of 100278 tokens, but the model's "
        "vocab_size is 50280 (its embedding has no row for ids 50280 and above): train a model with a vocabulary "
        "of at least 100278 tokens (model.vocab_size=100278), or tokenize the data with the model's tokenizer "
        "(olmo data tokenize tokenizer=...)\n"))
    assert not run.exists()
    with pytest.raises(ConfigError, match=r"^the token arrays .* vocab_size is 50280 \(its embedding"):
        make_trainer(config(dolma2, tmp_path, "python"))  # the trainer's own data are checked too
    assert not (tmp_path / "python").exists()
    larger = [*SMALL_MODEL, f"data=[{tokens}]", f"output={run}", "model.vocab_size=60000", "seq_len=32",
              "global_batch_size=256", "max_steps=1", "threads=1"]
    assert olmo_cli("train", larger).exit_code == 0  # the model may have more tokens than the data's 50280


def test_token_parts_without_olmo_metadata_pass_the_vocabulary_check(tokens: Path, tmp_path: Path) -> None:
    import shutil

    from olmo_core.artifacts import TokenArrays

    from olmo_train.job import TrainJob
    from olmo_train.config import TrainConfig

    dolma = tmp_path / "dolma"  # a Dolma/OLMo .npy directory: token files, no .meta.json
    dolma.mkdir()
    for part in sorted(tokens.glob("part-*.npy")):
        shutil.copy(part, dolma / part.name)
    TrainJob().check(TrainConfig(), {"data": [TokenArrays(path=str(dolma))]}, str(tmp_path / "run"))


def test_a_run_without_the_metrics_callback_says_so_instead_of_pointing_at_a_missing_file(
        olmo_cli: Any, tokens: Path, tmp_path: Path) -> None:
    import json

    run = tmp_path / "nometrics"
    args = [*SMALL_MODEL, f"data=[{tokens}]", f"output={run}", "seq_len=32", "global_batch_size=256", "max_steps=1",
            "threads=1"]
    assert olmo_cli("train", args, "callbacks=[checkpoint]").exit_code == 0
    metrics = json.loads((run / "result.json").read_text())["metrics"]
    assert (metrics["metrics"], metrics["tokens_per_second"]) == (None, None)
    assert not (run / "metrics.jsonl").exists()
    assert (run / "report.md").read_text().strip().endswith(
        "metrics were not recorded: the metrics callback is off (callbacks=[...] keeps only the callbacks it "
        "lists; +callbacks=[...] adds to the defaults).")


def test_a_run_without_metrics_records_unknown_figures_as_null_and_reports_its_final_loss(
        olmo_cli: Any, tokens: Path, tmp_path: Path) -> None:
    import json

    from olmo_core.model_io import load_model
    from olmo_train.loss import labels_for

    run = tmp_path / "bare"
    args = [*SMALL_MODEL, f"data=[{tokens}]", f"output={run}", "seq_len=32", "global_batch_size=256", "max_steps=2",
            "threads=1", "callbacks=[checkpoint,progress]", "callbacks.checkpoint.interval=1"]
    assert olmo_cli("train", args).exit_code == 0
    metrics = json.loads((run / "result.json").read_text())["metrics"]
    assert {k: metrics[k] for k in ("energy_wh", "co2_g", "seconds_training", "tokens_per_second")} == dict.fromkeys(
        ("energy_wh", "co2_g", "seconds_training", "tokens_per_second"))
    # the final loss is step 2's: the step-1 checkpoint's weights on step 2's batch (the data order's 2nd 8 instances)
    step1 = load_model(run / "checkpoints" / "step000001").model
    from olmo_train.data import DataLoaderConfig

    loader = DataLoaderConfig(paths=[str(tokens)], seq_len=32, global_batch_size=256, seed=0).build(
        tmp_path / "order", rank=0, world_size=1)
    batches = iter(loader)
    next(batches)
    ids = next(batches)["input_ids"]
    labels = labels_for(ids)
    with torch.no_grad():
        sums = step1(ids, labels=labels)
    assert metrics["final_loss"] == pytest.approx(float(sums.ce) / int((labels != -100).sum()), rel=1e-5)
    assert (run / "report.md").read_text().strip().endswith(
        f"2 steps, loss {metrics['final_loss']:.3f} at the last step; metrics were not recorded: the metrics callback "
        f"is off (callbacks=[...] keeps only the callbacks it lists; +callbacks=[...] adds to the defaults).")


def test_a_run_without_the_energy_callback_reports_its_energy_as_not_recorded(
        olmo_cli: Any, tokens: Path, tmp_path: Path) -> None:
    import json

    run = tmp_path / "noenergy"
    args = [*SMALL_MODEL, f"data=[{tokens}]", f"output={run}", "seq_len=32", "global_batch_size=256", "max_steps=1",
            "threads=1", "callbacks=[metrics,checkpoint]"]
    assert olmo_cli("train", args).exit_code == 0
    metrics = json.loads((run / "result.json").read_text())["metrics"]
    assert (metrics["energy_wh"], metrics["co2_g"]) == (None, None)
    assert metrics["seconds_training"] > 0
    assert "| not recorded (the energy callback is off) | not recorded |" in (run / "report.md").read_text()


def test_plus_callbacks_adds_to_the_default_callbacks(tokens: Path, tmp_path: Path) -> None:
    from olmo_train.callbacks import DEFAULT_CALLBACKS

    assert list(config(tokens, tmp_path, "added", **{"+callbacks": "[evaluate]"}).callbacks) == [
        *DEFAULT_CALLBACKS, "evaluate"]


@pytest.mark.parametrize(("device", "why"), [("gpu", "is not a device"),
                                             ("cuda", "is not available on this machine")])
def test_a_device_that_is_not_here_is_refused_in_one_line_before_anything_is_written(
        olmo_cli: Any, tokens: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, device: str, why: str) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    run = tmp_path / "run"
    refused = olmo_cli("train", f"data=[{tokens}]", f"output={run}", f"backend.device={device}")
    assert (refused.exit_code, refused.err) == (2, f"error: backend.device={device} {why}: use one of auto, cpu\n")
    assert not run.exists()


def test_the_help_of_backend_precision_says_bf16_runs_on_a_cpu_too(olmo_cli: Any) -> None:
    help_text = " ".join(olmo_cli("train", "--help").out.split())
    assert ("`fp32`, or `bf16` (autocast with fp32 master weights; meant for GPUs: it runs on a CPU too, but a CPU "
            "without bf16 units gains no speed from it); `auto` is bf16 on CUDA and fp32 elsewhere") in help_text


def test_empty_data_and_an_init_from_that_is_no_checkpoint_are_refused_before_anything_is_written(
        olmo_cli: Any, tokens: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    refused = olmo_cli("train", "data=[]", f"output={run}")
    assert (refused.exit_code, refused.err) == (
        2, "error: data=[] names no token arrays: give data=[<token arrays dir>, ...]\n")
    refused = olmo_cli("train", f"data=[{tokens}]", f"output={run}", f"init_from={tokens}")
    assert (refused.exit_code, refused.err) == (
        2, f"error: init_from: {tokens} is token arrays, not a checkpoint: `olmo train data=[<token arrays dir>] "
           f"output=<dir>` writes one\n")
    assert not run.exists()


def test_a_rerun_already_at_max_steps_does_not_warn_about_warmup(olmo_cli: Any, tokens: Path,
                                                                 tmp_path: Path) -> None:
    args = [*SMALL_MODEL, f"data=[{tokens}]", f"output={tmp_path / 'run'}", "seq_len=32", "global_batch_size=256",
            "max_steps=1", "scheduler.warmup_steps=2", "threads=1", "callbacks=[metrics,checkpoint]"]
    first = olmo_cli("train", args)
    assert first.exit_code == 0 and "warning: scheduler.warmup_steps=2 is not below max_steps=1" in first.err
    again = olmo_cli("train", args)
    assert again.exit_code == 0 and "warning" not in again.err
    assert "trained 1 step (256 tokens); final loss unchanged (already at max_steps)" in again.err


def test_a_standalone_run_reads_the_unigram_entropy_its_token_arrays_recorded(olmo_cli: Any, tokens: Path,
                                                                              tmp_path: Path) -> None:
    import json

    import numpy as np

    ids = [np.fromfile(part, dtype=json.loads(part.with_suffix(".meta.json").read_text())["dtype"])
           for part in sorted(tokens.glob("*.npy"))]  # raw token ids, of the dtype their metadata records
    counts = np.bincount(np.concatenate(ids).astype(np.int64))
    p = counts[counts > 0] / counts.sum()
    entropy = float(-(p * np.log(p)).sum())  # nats, from the token ids themselves
    run = tmp_path / "entropy"
    args = [*SMALL_MODEL, f"data=[{tokens}]", f"output={run}", "seq_len=32", "global_batch_size=256", "max_steps=1",
            "threads=1", "callbacks=[metrics,checkpoint]"]
    assert olmo_cli("train", args).exit_code == 0
    recorded = json.loads((run / "result.json").read_text())["metrics"]["unigram_entropy_nats"]
    assert recorded == pytest.approx(entropy, abs=1e-4)
    assert f"(unigram entropy of the data: {recorded:.3f} nats)." in (run / "report.md").read_text()


def test_the_stage_table_names_the_steps_a_short_runs_mean_loss_averaged(olmo_cli: Any, tokens: Path,
                                                                          tmp_path: Path) -> None:
    """A run of 3 steps averages its loss over 3 steps, not the 10 of the metric's name (``mean_loss_last_10``,
    whose name and value stay)."""
    import json

    from olmo_core.pipeline.report import summarize

    run = tmp_path / "short"
    args = [*SMALL_MODEL, f"data=[{tokens}]", f"output={run}", "seq_len=32", "global_batch_size=256", "max_steps=3",
            "threads=1", "callbacks=[metrics]"]
    assert olmo_cli("train", args).exit_code == 0
    metrics = json.loads((run / "result.json").read_text())["metrics"]
    losses = [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert metrics["mean_loss_last_10"] == pytest.approx(sum(losses) / 3) and len(losses) == 3
    assert f"mean loss, last 3 steps: {metrics['mean_loss_last_10']:.4g}" in summarize(metrics)
    assert "last 10" not in summarize(metrics)
