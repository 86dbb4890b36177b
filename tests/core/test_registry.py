from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from olmo_core.errors import ConfigError, PluginError, UnknownComponentError
from olmo_core.kinds import KINDS
from olmo_core.registry import Registry, make_register


@dataclass(kw_only=True)
class WidthConfig:
    width: int = 4
    label: str = "w"


class Widget:
    """A widget of some width."""

    def __init__(self, config: WidthConfig, scale: int = 1) -> None:
        self.config, self.scale = config, scale


def make_registry() -> Registry:
    registry = Registry(KINDS["taggers"])
    register = make_register(registry, plugin="first", distribution="first-dist 1.0")
    register("widget", Widget, config=WidthConfig, aliases=("gadget",), presets={"wide": WidthConfig(width=64)})
    return registry


def test_options_cover_names_aliases_and_presets() -> None:
    registry = make_registry()
    assert registry.options() == ["gadget", "wide", "widget"]
    assert registry.get("gadget").name == "widget"
    assert registry.get("widget").help == "A widget of some width."


def test_build_by_name_preset_and_runtime_arguments() -> None:
    registry = make_registry()
    default = registry.build("widget", scale=3)
    assert (default.config, default.scale) == (WidthConfig(width=4), 3)
    assert type(default.config) is WidthConfig
    assert registry.build("wide").config.width == 64


def test_resolved_config_carries_the_component_name() -> None:
    component, config = make_registry().resolve("wide")
    assert config._name_ == "widget" and config.width == 64 and isinstance(config, WidthConfig)
    assert component.build(config).config == WidthConfig(width=64)


def test_build_from_mapping_validates_types() -> None:
    registry = make_registry()
    assert registry.build({"_name_": "widget", "width": "7"}).config.width == 7
    with pytest.raises(ConfigError, match="key .width.: Value .seven."):
        registry.build({"_name_": "widget", "width": "seven"})


def test_duplicate_name_names_both_distributions() -> None:
    registry = make_registry()
    second = make_register(registry, plugin="second", distribution="second-dist 2.0")
    with pytest.raises(PluginError) as info:
        second("gadget", Widget, config=WidthConfig)
    message = str(info.value)
    assert "first-dist 1.0" in message and "second-dist 2.0" in message and "'gadget'" in message


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(UnknownComponentError) as info:
        make_registry().get("widgt")
    assert str(info.value) == ("unknown tagger 'widgt' (did you mean 'widget'?); "
                               "available: gadget, wide, widget (see `olmo plugins`)")


def test_config_must_be_a_kw_only_dataclass() -> None:
    @dataclass
    class Positional:
        width: int = 1

    register = make_register(Registry(KINDS["models"]), plugin="p", distribution="d 1")
    with pytest.raises(PluginError, match="kw_only=True"):
        register("positional", Widget, config=Positional)
    with pytest.raises(PluginError, match="must be a dataclass"):
        register("notaclass", Widget, config=dict)


def test_preset_must_be_an_instance_of_the_config() -> None:
    register = make_register(Registry(KINDS["models"]), plugin="p", distribution="d 1")
    with pytest.raises(PluginError, match="preset 'bad'"):
        register("w", Widget, config=WidthConfig, presets={"bad": {"width": 3}})


def test_component_without_config_is_built_with_runtime_arguments_only() -> None:
    registry = Registry(KINDS["callbacks"])
    make_register(registry, plugin="p", distribution="d 1")("plain", lambda **kw: kw)
    assert registry.build("plain", trainer="t") == {"trainer": "t"}


def test_composed_configs_pickle_and_keep_their_name() -> None:
    import pickle

    _, config = make_registry().resolve("wide")
    again = pickle.loads(pickle.dumps(config))
    assert type(again) is type(config) and again == config and again._name_ == "widget"


class Weird:
    pass


@dataclass(kw_only=True)
class NoDefaultConfig:
    noval: int


@dataclass(kw_only=True)
class WeirdConfig:
    thing: Weird = field(default_factory=Weird)


@dataclass(kw_only=True)
class BadValueConfig:
    count: int = "not-an-int"  # type: ignore[assignment]


@pytest.mark.parametrize(("config", "message"), [
    (NoDefaultConfig, r"the config NoDefaultConfig of tagger 'bad' of plugin 'first' \(first-dist 1.0\) cannot be "
                      r"made from its defaults .*missing 1 required keyword-only argument: 'noval'"),
    (WeirdConfig, r"the config WeirdConfig of tagger 'bad' of plugin 'first' \(first-dist 1.0\) is not one OmegaConf "
                  r"can hold .*Unexpected type annotation: Weird"),
    (BadValueConfig, r"the config BadValueConfig of tagger 'bad' .* is not one OmegaConf can hold .*not-an-int"),
])
def test_a_config_omegaconf_cannot_hold_or_make_is_refused_when_registered(config: type, message: str) -> None:
    registry = make_registry()
    register = make_register(registry, plugin="first", distribution="first-dist 1.0")
    with pytest.raises(PluginError, match=message):
        register("bad", Widget, config=config)
    assert "bad" not in registry


def test_a_preset_omegaconf_cannot_hold_is_refused() -> None:
    registry = make_registry()
    register = make_register(registry, plugin="first", distribution="first-dist 1.0")
    with pytest.raises(PluginError, match=r"WidthConfig of tagger 'odd' .* \(preset 'bad'\) is not one OmegaConf"):
        register("odd", Widget, config=WidthConfig, presets={"bad": WidthConfig(width="wide")})  # type: ignore[arg-type]


@dataclass(kw_only=True)
class NestedWeirdConfig:
    things: list[Weird] = field(default_factory=lambda: [Weird()])
    maybe: Weird | None = None


def test_the_cheap_check_leaves_what_it_cannot_tell_to_omegaconf() -> None:
    registry = make_registry()
    register = make_register(registry, plugin="first", distribution="first-dist 1.0")
    with pytest.raises(PluginError, match=r"NestedWeirdConfig .* is not one OmegaConf can hold"):
        register("nested", Widget, config=NestedWeirdConfig)


def test_every_installed_component_config_is_one_omegaconf_holds() -> None:
    """What the cheap check accepts (without OmegaConf) OmegaConf holds too, for every installed component."""
    from omegaconf import OmegaConf

    from olmo_core.plugins import PluginHost

    host = PluginHost()
    for kind in KINDS:
        for component in host.registry(kind):
            if component.config is not None:
                OmegaConf.structured(component.default_config())
                for preset in component.presets:
                    OmegaConf.structured(component.preset_config(preset))
