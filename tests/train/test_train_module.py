"""The train module owns model, optimizer and backend; ``init_from`` loads into the one model the trainer builds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from olmo_core.errors import ConfigError
from olmo_core.plugins import get_host
from olmo_train.backends.single import SingleDevice

from tests.train.conftest import config, make_trainer


def same_state(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_state_round_trips_in_both_forms(tokens: Path, tmp_path: Path) -> None:
    trained = make_trainer(config(tokens, tmp_path, "trained", max_steps=2, callbacks="[metrics]"))
    trained.fit()
    fresh = make_trainer(config(tokens, tmp_path, "fresh", max_steps=2, callbacks="[metrics]"))
    assert not same_state(fresh.train_module.state_dict()["model"], trained.train_module.state_dict()["model"])
    whole = trained.train_module.state_dict()
    assert whole["optim"] and whole["optim_groups"][0]["lr"] == trained.optimizer.param_groups[0]["lr"]
    fresh.train_module.load_state_dict(whole)
    again = fresh.train_module.state_dict()
    assert same_state(again["model"], whole["model"]) and same_state(again["optim"], whole["optim"])
    assert again["optim_groups"] == whole["optim_groups"]

    other = make_trainer(config(tokens, tmp_path, "other", max_steps=2, callbacks="[metrics]"))
    other.train_module.load_state_dict(trained.train_module.state_dict(distributed=True), distributed=True)
    assert same_state(other.train_module.state_dict()["model"], whole["model"])
    assert same_state(other.train_module.state_dict()["optim"], whole["optim"])


def test_init_from_builds_the_model_once(tokens: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = make_trainer(config(tokens, tmp_path, "source", max_steps=2, callbacks="[checkpoint]"))
    source.fit()
    checkpoint = tmp_path / "source" / "checkpoints" / "step000002"
    registry = get_host().registry("models")
    builds: list[Any] = []
    build = registry.build
    monkeypatch.setattr(registry, "build", lambda *a, **k: (builds.append(a), build(*a, **k))[-1])
    started = make_trainer(config(tokens, tmp_path, "started", init_from=str(checkpoint), callbacks="[metrics]"))
    assert len(builds) == 1
    assert same_state(started.plain_model.state_dict(), source.plain_model.state_dict())
    assert started.tokenizer.sha256 == source.tokenizer.sha256
    from_run = make_trainer(config(tokens, tmp_path, "from-run", init_from=str(tmp_path / "source"),
                                   callbacks="[metrics]"))  # a run directory: its newest complete checkpoint
    assert same_state(from_run.plain_model.state_dict(), source.plain_model.state_dict())


def test_a_trainer_that_fails_to_start_closes_its_backend(tokens: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    closes: list[int] = []
    monkeypatch.setattr(SingleDevice, "close", lambda self: closes.append(1))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"^init_from: .*empty does not hold a checkpoint"):
        make_trainer(config(tokens, tmp_path, "bad-start", init_from=str(tmp_path / "empty")))
    assert closes == [1]


def test_init_from_a_model_of_another_shape_names_the_options_that_differ_and_a_few_tensors(
        tokens: Path, tmp_path: Path) -> None:
    source = make_trainer(config(tokens, tmp_path, "source", max_steps=1, callbacks="[checkpoint]"))
    source.fit()
    checkpoint = tmp_path / "source" / "checkpoints" / "step000001"
    with pytest.raises(ConfigError) as refused:
        make_trainer(config(tokens, tmp_path, "wider", init_from=str(checkpoint), callbacks="[metrics]",
                            **{"model.d_model": 64, "model.n_layers": 3}))
    assert str(refused.value) == (
        f"the init_from={checkpoint} model differs from this run's: d_model 32 -> 64, n_layers 2 -> 3: use the same "
        f"model= and model.* options as the run that saved it (its model_config.json) (13 tensors do not fit, "
        f"checkpoint != this run: transformer.wte.weight (50304, 32) != (50304, 64); "
        f"transformer.blocks.0.att_proj.weight (96, 32) != (192, 64); transformer.blocks.0.attn_out.weight "
        f"(32, 32) != (64, 64), and 10 more)")
