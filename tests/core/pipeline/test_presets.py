"""Pipeline presets and run-wide training options."""

from __future__ import annotations

import pytest

from olmo_core.config import apply_overrides
from olmo_core.errors import ConfigError, UnknownComponentError
from olmo_core.hydra_bridge import compose_command, expand_presets
from olmo_core.pipeline.presets import PIPELINE_PRESETS
from olmo_core.plugins import get_host


def pipeline() -> object:
    return get_host().registry("commands").get("pipeline")


def test_a_preset_comes_before_the_users_overrides_and_the_user_wins() -> None:
    command = pipeline()
    expanded = expand_presets(command, ["pipeline=smoke", "stages.pretrain.max_steps=3"])  # type: ignore[arg-type]
    smoke = [o for o in PIPELINE_PRESETS["smoke"] if not o.startswith("stages.pretrain.max_steps=")]
    assert expanded == [*smoke, "pipeline=smoke", "stages.pretrain.max_steps=3"]
    config = compose_command(command, ["pipeline=smoke", "stages.pretrain.max_steps=3"])  # type: ignore[arg-type]
    assert config.pipeline == "smoke"
    assert config.stages["pretrain"].max_steps == 3 and config.stages["pretrain"].seq_len == 64


def test_presets_are_checked() -> None:
    with pytest.raises(UnknownComponentError, match="smok"):
        expand_presets(pipeline(), ["pipeline=smok"])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="pipeline is a preset and cannot be swept"):
        expand_presets(pipeline(), ["pipeline=smoke,default"])  # type: ignore[arg-type]


def test_train_options_reach_the_train_config_by_olmo_train_names() -> None:
    config = compose_command(pipeline(), ["train.optim.lr=3e-3", "train.model=olmo-small",  # type: ignore[arg-type]
                                          "train.callbacks=[metrics]", "train.max_steps=5"])
    assert config.train == {"optim": {"lr": 3e-3}, "model": "olmo-small", "callbacks": ["metrics"], "max_steps": 5}
    base = compose_command(get_host().registry("commands").get("train"), ["data=[x]"])
    applied = apply_overrides(base, config.train, prefix="train")
    assert applied.optim.lr == 3e-3 and applied.optim.weight_decay == base.optim.weight_decay
    assert (applied.model.d_model, applied.model.n_layers, applied.model._name_) == (256, 10, "olmo")  # the preset
    assert list(applied.callbacks) == ["metrics"] and applied.max_steps == 5 and applied.data == ["x"]
    with pytest.raises(ConfigError, match=r"unknown key 'train.max_step' \(did you mean 'max_steps'"):
        apply_overrides(base, {"max_step": 3}, prefix="train")
    with pytest.raises(ConfigError, match=r"train.optim.lr"):
        apply_overrides(base, {"optim": {"lr": "fast"}}, prefix="train")
