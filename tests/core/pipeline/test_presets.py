"""Pipeline presets: applied before the user's overrides, every shipped one composes, and every stage key is
checked when the config is composed."""

from __future__ import annotations

from typing import Any

import pytest

from olmo_core.errors import ConfigError, UnknownComponentError
from olmo_core.hydra_bridge import compose_command, validate_overrides
from olmo_core.pipeline.command import PRESETS
from olmo_core.plugins import get_host


def pipeline() -> Any:
    return get_host().registry("commands").get("pipeline")


def test_a_preset_comes_before_the_users_overrides_and_the_user_wins() -> None:
    config = compose_command(pipeline(), ["pipeline=smoke", "stages.pretrain.max_steps=3",
                                          "stages.fetch.sources=[c4]"])
    assert config.pipeline == "smoke" and list(config.stages["fetch"].sources) == ["c4"]
    assert config.stages["pretrain"].max_steps == 3 and config.stages["pretrain"].seq_len == 64
    assert config.stages["tag"].workers == 0  # smoke starts from the default preset
    assert config.name == "smoke"  # its run does not overwrite the default pipeline's runs/default
    assert compose_command(pipeline(), ["pipeline=smoke", "name=mine"]).name == "mine"
    assert compose_command(pipeline(), []).name == "default"


def test_the_default_preset_applies_when_none_is_named() -> None:
    config = compose_command(pipeline(), [])
    pretrain = config.stages["pretrain"]
    assert (pretrain.optim.lr, pretrain.global_batch_size, pretrain.scheduler.warmup_steps) == (1e-2, 4096, 10)
    assert pretrain.callbacks["checkpoint"].interval == 25
    train = compose_command(get_host().registry("commands").get("train"), ["data=[x]"])
    assert train.optim.lr == 4e-4 and train.global_batch_size == 8192  # olmo train keeps its own defaults


def test_presets_are_checked_and_can_be_swept() -> None:
    with pytest.raises(UnknownComponentError, match="smok"):
        validate_overrides(pipeline(), ["pipeline=smok"])
    assert validate_overrides(pipeline(), ["pipeline=smoke,default"]) == ["olmo/pipeline=smoke,default"]


@pytest.mark.parametrize("preset", sorted(p.stem for p in PRESETS.glob("*.yaml")))
def test_every_shipped_preset_composes(preset: str) -> None:
    config = compose_command(pipeline(), [f"pipeline={preset}"])
    assert config.pipeline == preset and list(config.stages)[:2] == ["fetch", "tag"]
    assert config.stages["filter"].exclude[0] == "source != 'python-stdlib' and language__language__en < 0.5"


def test_paper_presets_carry_the_papers_settings() -> None:
    one = compose_command(pipeline(), ["pipeline=olmo1-7b"]).stages["pretrain"]
    assert (one.model.d_model, one.model.n_layers, one.optim.lr, type(one.scheduler).__name__) == \
        (4096, 32, 3e-4, "LinearWithWarmupConfig")
    assert (one.scheduler.warmup_steps, one.seq_len, one.global_batch_size, one.backend._name_) == \
        (5000, 2048, 4194304, "fsdp")
    two = compose_command(pipeline(), ["pipeline=olmo2-1b"]).stages["pretrain"]
    assert (two.model.block, two.model.qk_norm, two.z_loss, two.optim.eps) == ("olmo2", True, 1e-5, 1e-8)
    assert (two.scheduler.warmup_steps, two.scheduler.warmup_start_fraction, two.seq_len) == (2000, 0.0, 4096)


def test_a_stage_component_is_selected_by_its_key() -> None:
    config = compose_command(pipeline(), ["stages.pretrain.model=olmo-small", "stages.pretrain.optim.lr=3e-3",
                                          "stages.pretrain.callbacks=[metrics]"])
    pretrain = config.stages["pretrain"]
    assert (pretrain.model.d_model, pretrain.model.n_layers, pretrain.model._name_) == (256, 10, "olmo")
    assert pretrain.optim.lr == 3e-3 and list(pretrain.callbacks) == ["metrics"]


def test_a_typo_in_any_stage_key_fails_when_composed() -> None:
    with pytest.raises(ConfigError, match=r"stages\.pretrain\.optim\.lrr"):
        compose_command(pipeline(), ["stages.pretrain.optim.lrr=1"])
    with pytest.raises(ConfigError, match=r"stages\.pretrain\.max_step\b.*did you mean 'max_steps'"):
        compose_command(pipeline(), ["stages.pretrain.max_step=1"])
    with pytest.raises(ConfigError, match=r"stages\.pretrain\.optim\.lr"):
        compose_command(pipeline(), ["stages.pretrain.optim.lr=fast"])
