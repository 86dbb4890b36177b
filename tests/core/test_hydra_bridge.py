from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

from olmo_core import component, hookimpl
from olmo_core.errors import ConfigError, UnknownComponentError, UsageError
from olmo_core.hydra_bridge import validate_overrides
from olmo_core.plugins import PluginHost


@dataclass(kw_only=True)
class MlpConfig:
    width: int = 8
    depth: int = 2


@dataclass(kw_only=True)
class Schedule:
    model: Any = component("models", default="mlp")
    lr: float = 1e-3


@dataclass(kw_only=True)
class FitConfig:
    seed: int = 0
    train: Schedule = field(default_factory=Schedule)


@dataclass(kw_only=True)
class ClashInner:
    model: Any = component("tasks")


@dataclass(kw_only=True)
class Clash:
    train: ClashInner = field(default_factory=ClashInner)


class FitPlugin:
    """A plugin with a model (and a preset) and a command whose config nests a component field."""

    @hookimpl
    def olmo_register_models(self, register: Any) -> None:
        register("mlp", lambda config: ("mlp", config.width, config.depth), config=MlpConfig,
                 presets={"mlp-wide": MlpConfig(width=512)})

    @hookimpl
    def olmo_register_commands(self, register: Any) -> None:
        register("fit", lambda config: config, config=FitConfig)


@pytest.fixture
def fit(register_plugin: Any, olmo_host: PluginHost) -> Any:
    register_plugin(FitPlugin(), "fit-plugin")
    return olmo_host.registry("commands").get("fit")


def test_plugin_component_is_selected_and_configured(example_plugin: ModuleType, register_plugin: Any,
                                                     olmo_compose: Any) -> None:
    register_plugin(example_plugin, "example_length")
    cfg = olmo_compose("data tag", ["input=x", "taggers=[example_length]", "taggers.example_length.min_words=3"])
    assert list(cfg.taggers) == ["example_length"]
    node = cfg.taggers["example_length"]
    assert (node._name_, node.min_words) == ("example_length", 3)
    from olmo_core import build

    built = build("taggers", node)
    assert type(built.config) is example_plugin.ExampleLengthConfig and built.config.min_words == 3


def test_nested_component_field_defaults_and_presets(fit: Any, olmo_compose: Any) -> None:
    cfg = olmo_compose("fit")
    assert (cfg.train.model._name_, cfg.train.model.width) == ("mlp", 8)
    cfg = olmo_compose("fit", ["train/model=mlp-wide", "train.model.depth=5", "train.lr=0.5"])
    assert (cfg.train.model.width, cfg.train.model.depth, cfg.train.lr) == (512, 5, 0.5)
    from olmo_core import build

    assert build("models", cfg.train.model) == ("mlp", 512, 5)


def test_unknown_component_name(fit: Any, olmo_host: PluginHost) -> None:
    with pytest.raises(UnknownComponentError) as info:
        validate_overrides(fit, ["train/model=mlp-wdie"])
    assert str(info.value).startswith("unknown model 'mlp-wdie' (did you mean 'mlp-wide'?); available: ")


def test_unknown_component_in_a_later_sweep_value(fit: Any) -> None:
    with pytest.raises(UnknownComponentError, match="unknown model 'nope'"):
        validate_overrides(fit, ["train/model=mlp,nope"])


def test_unknown_key_lists_valid_keys(fit: Any) -> None:
    with pytest.raises(ConfigError) as info:
        validate_overrides(fit, ["train.lrr=0.1"])
    assert str(info.value) == ("unknown config key 'train.lrr' for `olmo fit` (did you mean 'lr'?); "
                               "valid keys under 'train': lr, model")


def test_a_misspelled_launcher_key_lists_the_chosen_launcher_s_keys(fit: Any) -> None:
    with pytest.raises(ConfigError) as info:
        validate_overrides(fit, ["hydra/launcher=joblib", "hydra.launcher.n_jobz=2"])
    assert str(info.value).startswith("unknown config key 'hydra.launcher.n_jobz' for `olmo fit` (did you mean "
                                      "'n_jobs'?); valid keys under 'hydra.launcher': _target_, backend, ")
    with pytest.raises(ConfigError) as info:  # the basic launcher has no keys: the choice is what is missing
        validate_overrides(fit, ["hydra.launcher.n_jobs=2"])
    assert str(info.value).endswith("valid keys under 'hydra.launcher': _target_; the launcher's keys come with its "
                                    "choice: add hydra/launcher=<name> (joblib, submitit_local, submitit_slurm, ...)")


def test_unknown_top_level_key(fit: Any) -> None:
    with pytest.raises(ConfigError, match=r"unknown config key 'sead' for `olmo fit` \(did you mean 'seed'\?\); "
                                          r"valid keys: seed, train"):
        validate_overrides(fit, ["sead=1"])


def test_wrong_type_in_any_sweep_value(fit: Any) -> None:
    with pytest.raises(ConfigError, match=r"invalid value in override 'seed=x'"):
        validate_overrides(fit, ["seed=1,x"])


def test_unparsable_override(fit: Any) -> None:
    with pytest.raises(UsageError, match=r"cannot parse override 'seed=\[1'"):
        validate_overrides(fit, ["seed=[1"])


@dataclass(kw_only=True)
class PlainModel:
    model: str = "plain"


def test_the_same_key_selects_each_commands_own_kind(fit: Any, register_plugin: Any, olmo_compose: Any) -> None:
    """Component configs live in one group per kind (``model``, ``eval/task`` ...), packaged at each field's key,
    so that two commands may use one key for different kinds, or for a plain value."""

    class ClashPlugin:
        @hookimpl
        def olmo_register_commands(self, register: Any) -> None:
            register("clash", lambda c: c, config=Clash)
            register("plain", lambda c: c, config=PlainModel)

    register_plugin(ClashPlugin(), "clash")
    assert olmo_compose("fit", ["train.model=mlp-wide"]).train.model.width == 512
    assert olmo_compose("clash", ["train.model=copa"]).train.model._name_ == "copa"
    assert olmo_compose("plain", ["model=mine"]).model == "mine"


class WordCounter:
    """A tagger without options."""

    name = "word_counter"

    def tag(self, document: Any) -> dict[str, Any]:
        return {"words": [[0, len(document.text), len(document.text.split())]]}


class NoConfigPlugin:
    @staticmethod
    @hookimpl
    def olmo_register_taggers(register: Any) -> None:
        register("word_counter", WordCounter)


def test_a_component_without_options_is_selectable(register_plugin: Any, olmo_compose: Any,
                                                    olmo_host: PluginHost) -> None:
    register_plugin(NoConfigPlugin(), "no-config")
    cfg = olmo_compose("data tag", ["input=x", "taggers=[word_counter,language]"])
    assert list(cfg.taggers) == ["word_counter", "language"]
    assert isinstance(olmo_host.registry("taggers").build(cfg.taggers["word_counter"]), WordCounter)


def test_unknown_key_of_a_selected_component_lists_that_components_keys(olmo_host: PluginHost) -> None:
    tag = olmo_host.registry("commands").get("data tag")
    with pytest.raises(ConfigError) as info:
        validate_overrides(tag, ["input=x", "taggers=[language]", "taggers.language.langauges=[fr]"])
    assert str(info.value) == ("unknown config key 'taggers.language.langauges' for `olmo data tag` (did you mean "
                               "'languages'?); valid keys under 'taggers.language': languages, max_document_bytes, "
                               "paragraphs")


def test_unknown_key_under_a_nested_selection_is_listed_with_the_selection(fit: Any) -> None:
    with pytest.raises(ConfigError) as info:
        validate_overrides(fit, ["train/model=mlp-wide", "train.model.dpeth=3"])
    assert str(info.value) == ("unknown config key 'train.model.dpeth' for `olmo fit` (did you mean 'depth'?); "
                               "valid keys under 'train.model': depth, width")


def test_unknown_component_suggests_names_that_start_with_the_word(olmo_host: PluginHost) -> None:
    tag = olmo_host.registry("commands").get("data tag")
    with pytest.raises(UnknownComponentError) as info:
        validate_overrides(tag, ["input=x", "taggers=[gophr]"])
    assert str(info.value).startswith("unknown tagger 'gophr' (did you mean 'gopher_quality' or "
                                      "'gopher_repetition'?); available: ")


def test_a_key_given_at_the_wrong_level_suggests_where_it_belongs(olmo_host: Any) -> None:
    sft = olmo_host.registry("commands").get("adapt sft")
    with pytest.raises(ConfigError, match=r"unknown config key 'max_steps' for `olmo adapt sft` "
                                          r"\(did you mean 'method.max_steps'\?\); valid keys: backend,"):
        validate_overrides(sft, ["max_steps=2"])
    pipeline = olmo_host.registry("commands").get("pipeline")
    with pytest.raises(ConfigError, match=r"'stages.pretrain.lr' .*\(did you mean 'stages.pretrain.optim.lr'\?\)"):
        validate_overrides(pipeline, ["stages.pretrain.lr=1"])


def test_one_value_for_a_list_key_says_how_to_give_a_list(olmo_cli: Any, tmp_path: Any) -> None:
    result = olmo_cli("data", "filter", f"input={tmp_path}", f"output={tmp_path / 'out'}", "attributes=pii")
    assert result.exit_code == 2
    assert "invalid value in override 'attributes=pii': attributes takes a list, as in attributes=[pii]" in result.err


def test_a_component_named_twice_in_a_list_is_refused(olmo_cli: Any, tmp_path: Any) -> None:
    result = olmo_cli("pipeline", "stages=[sft,sft,report]", f"output={tmp_path}")  # ran as [sft,report]
    assert result.exit_code != 0 and not (tmp_path / "stages").exists()
    assert "stages=[sft,sft,report] names 'sft' more than once: each job runs once" in result.err
    result = olmo_cli("data", "tag", f"input={tmp_path}", "taggers=[pii,c4,pii]")
    assert "taggers=[pii,c4,pii] names 'pii' more than once" in result.err


def test_plus_adds_components_to_the_selection_the_overrides_before_it_make(olmo_compose: Any) -> None:
    def chosen(*overrides: str) -> list[str]:
        return list(olmo_compose("train", ["data=[x]", *overrides]).callbacks)

    defaults = ["loss_guard", "speed", "energy", "metrics", "tensorboard", "progress", "checkpoint", "plots"]
    assert chosen() == defaults
    assert chosen("+callbacks=[evaluate]") == [*defaults, "evaluate"]
    assert chosen("+callbacks=[plots]") == defaults  # selected already
    assert chosen("callbacks=[metrics]", "+callbacks=[checkpoint,speed]") == ["metrics", "checkpoint", "speed"]
    with pytest.raises(ConfigError, match=r"\+callbacks=\[a\],\[b\]: adds one list of names"):
        chosen("+callbacks=[a],[b]")


def test_a_key_added_with_plus_must_be_one_of_the_configs(olmo_cli: Any, olmo_compose: Any, tmp_path: Any) -> None:
    for plus in ("+", "++"):
        result = olmo_cli("data", "count", f"input={tmp_path}", "query=whale", f"{plus}min_wrods=3")  # ran, before
        assert result.exit_code == 2 and result.err.startswith(
            "error: unknown config key 'min_wrods' for `olmo data count`; valid keys: case_sensitive, context")
    mix = olmo_compose("data mix", [f"input={tmp_path}", f"output={tmp_path / 'out'}", "+mixer.proportions.c4=0.5"])
    assert mix.mixer.proportions == {"c4": 0.5}  # a field that holds any keys takes new ones
