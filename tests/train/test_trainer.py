from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from olmo_core.callbacks import Callback, TrainerView
from olmo_train.trainer import NonFiniteLoss, Trainer

from tests.train.conftest import config, make_trainer


def test_micro_batches_do_not_change_the_update(tokens: Path, tmp_path: Path) -> None:
    one = make_trainer(config(tokens, tmp_path, "one", micro_batch_size=8))
    four = make_trainer(config(tokens, tmp_path, "four", micro_batch_size=2))
    four.model.load_state_dict(one.model.state_dict())
    batches = iter(one.loader)
    for step in range(3):
        batch = next(batches)
        mask = torch.ones_like(batch["input_ids"], dtype=torch.bool)
        mask[1, 5:] = False          # a padded row in the first micro-batch of four
        mask[6:, : 3 + step] = False  # prompt-like masks in the last one
        batch["label_mask"] = mask
        first, second = one.train_step(dict(batch)), four.train_step(dict(batch))
        assert first["loss"] == pytest.approx(second["loss"], rel=1e-6)
    for (name, a), (_, b) in zip(one.model.named_parameters(), four.model.named_parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5, msg=name)


def test_a_nan_is_caught_at_its_step(tokens: Path, tmp_path: Path) -> None:
    trainer = make_trainer(config(tokens, tmp_path, "nan"))
    batches = iter(trainer.loader)
    assert "skipped" not in trainer.train_step(next(batches))  # a step taken says nothing of skipping
    trainer.train_step(next(batches))
    with torch.no_grad():
        trainer.model.transformer.blocks[0].att_proj.weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteLoss, match=r"the loss is nan at step 3 "):
        trainer.train_step(next(batches))
    skipping = make_trainer(config(tokens, tmp_path, "skip", **{"callbacks.loss_guard.on_nan": "skip"}))
    with torch.no_grad():
        skipping.model.transformer.blocks[0].att_proj.weight[0, 0] = float("nan")
    before = {n: p.detach().clone() for n, p in skipping.model.named_parameters()}
    metrics = skipping.train_step(next(iter(skipping.loader)))
    assert metrics["step"] == 1 and metrics["loss"] != metrics["loss"]  # NaN, skipped
    assert metrics["skipped"] is True and skipping.step == 1  # a skipped step still counts; it says it was skipped
    assert all(torch.equal(p, before[n]) or n == "transformer.blocks.0.att_proj.weight"
               for n, p in skipping.model.named_parameters())


class Recorder(Callback):
    """Records the trainer's calls; raises at ``fail_at`` (a step) when given."""

    order = 50

    def __init__(self, fail_at: int | None = None) -> None:
        self.calls: list[str] = []
        self.errors: list[BaseException] = []
        self.fail_at = fail_at

    def on_fit_start(self, trainer: TrainerView) -> None:
        self.calls.append("start")

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, object]) -> None:
        self.calls.append(f"step{trainer.step}")
        if trainer.step == self.fail_at:
            raise RuntimeError(f"injected failure at step {trainer.step}")

    def on_fit_end(self, trainer: TrainerView) -> None:
        self.calls.append("end")

    def on_error(self, trainer: TrainerView, exc: BaseException) -> None:
        self.calls.append("error")
        self.errors.append(exc)

    def close(self, trainer: TrainerView) -> None:
        self.calls.append("close")


class BrokenOnError(Callback):
    def on_error(self, trainer: TrainerView, exc: BaseException) -> None:
        raise ValueError("a callback that fails while handling the failure")


def count_backend_closes(trainer: Trainer) -> list[int]:
    closes: list[int] = []
    close = trainer.backend.close
    trainer.backend.close = lambda: (closes.append(1), close())[-1]  # type: ignore[method-assign]
    return closes


def test_callbacks_are_closed_and_the_backend_too_when_training_ends(tokens: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    trainer = make_trainer(config(tokens, tmp_path, "ok", max_steps=2), callbacks=[recorder])
    closes = count_backend_closes(trainer)
    trainer.fit()
    assert recorder.calls == ["start", "step1", "step2", "end", "close"] and closes == [1]
    assert trainer.callbacks["tensorboard"].writer is None and trainer.callbacks["metrics"].file is None
    trainer.close()  # again: callbacks close again (harmlessly), the backend does not
    assert recorder.calls[-1] == "close" and closes == [1]


def test_a_failing_step_reaches_on_error_then_close(tokens: Path, tmp_path: Path) -> None:
    recorder = Recorder(fail_at=2)
    trainer = make_trainer(config(tokens, tmp_path, "fails", max_steps=4), callbacks=[BrokenOnError(), recorder])
    closes = count_backend_closes(trainer)
    with pytest.raises(RuntimeError, match="injected failure at step 2"):  # not the ValueError of on_error
        trainer.fit()
    assert recorder.calls == ["start", "step1", "step2", "error", "close"] and closes == [1]
    assert isinstance(recorder.errors[0], RuntimeError)
    assert trainer.callbacks["tensorboard"].writer is None and trainer.callbacks["metrics"].file is None
    rows = (tmp_path / "fails" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in rows] == [1]  # the metrics writer (order 100) ran after the failure


def test_a_non_finite_loss_reaches_on_error_then_close(tokens: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    trainer = make_trainer(config(tokens, tmp_path, "nan-fit"), callbacks=[recorder])
    closes = count_backend_closes(trainer)
    with torch.no_grad():
        trainer.model.transformer.blocks[0].att_proj.weight[0, 0] = float("nan")
    with pytest.raises(NonFiniteLoss) as raised:
        trainer.fit()
    assert recorder.calls == ["start", "error", "close"] and recorder.errors == [raised.value] and closes == [1]


def test_a_run_that_ends_inside_warmup_says_so_once_at_the_start(tokens: Path, tmp_path: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="olmo_train.trainer"):
        history = make_trainer(config(tokens, tmp_path, "w", max_steps=2, **{"scheduler.warmup_steps": 10})).fit()
    warning = ("scheduler.warmup_steps=10 is not below max_steps=2: the run ends inside warmup, at 19% of the peak "
               "learning rate; set scheduler.warmup_steps below 2, or max_steps above 10, for the schedule to reach "
               "its peak")  # a pretraining run: its own keys only, not olmo adapt's
    assert caplog.messages == [warning]
    assert history[-1]["lr"] == pytest.approx(0.19 * 4e-4)  # the schedule itself is unchanged
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="olmo_train.trainer"):
        make_trainer(config(tokens, tmp_path, "past", max_steps=3)).fit()  # warmup_steps=2
    assert caplog.messages == []


def test_a_caller_that_sets_the_warmup_its_own_way_says_how_to_lower_it(tokens: Path, tmp_path: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    """The trainer's caller (olmo adapt) names its own keys for the warning, whatever the objective."""
    from olmo_train.objective import LanguageModelObjective

    options = config(tokens, tmp_path, "w", max_steps=2, **{"scheduler.warmup_steps": 10})
    with caplog.at_level(logging.WARNING, logger="olmo_train.trainer"):
        make_trainer(options, warmup_fix="lower method.warmup_ratio (now 5)").fit()
    assert caplog.messages == ["scheduler.warmup_steps=10 is not below max_steps=2: the run ends inside warmup, at "
                               "19% of the peak learning rate; lower method.warmup_ratio (now 5) for the schedule to "
                               "reach its peak"]
    caplog.clear()
    options = config(tokens, tmp_path, "objective", max_steps=2, **{"scheduler.warmup_steps": 10})
    with caplog.at_level(logging.WARNING, logger="olmo_train.trainer"):
        make_trainer(options, objective=LanguageModelObjective()).fit()  # no guess from the objective
    assert caplog.messages[0].endswith("set scheduler.warmup_steps below 2, or max_steps above 10, for the schedule "
                                       "to reach its peak")


@pytest.mark.parametrize("coefficient", [1e-4, 1e-2])
def test_the_z_loss_metric_is_the_term_added_to_the_objective(tokens: Path, tmp_path: Path,
                                                              coefficient: float) -> None:
    import copy

    from olmo_train.data import DataLoaderConfig
    from olmo_train.loss import IGNORE, labels_for

    trainer = make_trainer(config(tokens, tmp_path, "z", max_steps=1, z_loss=coefficient))
    before = copy.deepcopy(trainer.plain_model)
    metrics = trainer.fit()[0]
    # step 1's batch (the first 8 instances of the seed-0 order) through the weights before the step, from full logits
    loader = DataLoaderConfig(paths=[str(tokens)], seq_len=32, global_batch_size=256, seed=0).build(
        tmp_path / "order", rank=0, world_size=1)
    ids = next(iter(loader))["input_ids"]
    labels = labels_for(ids)
    with torch.no_grad():
        logits = before(ids).float()
    kept = labels != IGNORE
    lse = torch.logsumexp(logits, dim=-1)[kept]
    ce = torch.nn.functional.cross_entropy(logits[kept], labels[kept])
    unscaled = float((lse ** 2).mean())
    assert metrics["z_loss_unscaled"] == pytest.approx(unscaled, rel=1e-4)
    assert metrics["z_loss"] == pytest.approx(coefficient * unscaled, rel=1e-4)  # scaled: 1e-4 and 1e-2 differ
    assert metrics["loss"] == pytest.approx(float(ce), rel=1e-5)  # the cross-entropy alone, as before


def test_a_caller_names_the_options_a_refused_resume_lists_in_its_own_terms(tokens: Path, tmp_path: Path) -> None:
    """check_resume and the trainer's own check take the caller's names of the trainer's keys (olmo adapt's
    method.lr for optim.lr), leave out the keys the caller compares itself, and say the caller's resumable options
    and way to start over; without terms the messages keep olmo train's keys."""
    from olmo_core.config import config_of
    from olmo_core.errors import ConfigError
    from olmo_train.config import TrainConfig
    from olmo_train.trainer import ResumeTerms, check_resume

    make_trainer(config(tokens, tmp_path, "t", max_steps=2, **{"optim.lr": 0.002})).fit()
    changed = config(tokens, tmp_path, "t", max_steps=4, seed=1, seq_len=16, **{"optim.lr": 0.001})
    terms = ResumeTerms(names={"optim.lr": "method.lr", "seq_len": None, "global_batch_size": None},
                        resumable=("method.max_steps",), start_over="start over with a new output=")
    expected = ("saved with other options: method.lr 0.002 -> 0.001; seed 0 -> 1. Only method.max_steps may change "
                "on resume: start over with a new output=")
    with pytest.raises(ConfigError) as info:
        check_resume(tmp_path / "t", config_of(TrainConfig, changed), terms=terms)
    assert str(info.value).endswith(expected)
    with pytest.raises(ConfigError) as info:
        make_trainer(changed, resume_terms=terms)
    assert str(info.value).endswith(expected)
    with pytest.raises(ConfigError, match=r"optim.lr 0.002 -> 0.001; seed 0 -> 1; seq_len 32 -> 16\. Only "
                                          r"max_steps, micro_batch_size"):
        check_resume(tmp_path / "t", config_of(TrainConfig, changed))
