from __future__ import annotations

from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from olmo_core.plugins import PluginHost, get_host


def test_pytest_plugin_is_loaded_through_its_entry_point(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("olmo")
    assert plugin is not None and plugin.__name__ == "olmo_core.testing"


def test_olmo_host_fixture_is_the_process_host(olmo_host: PluginHost) -> None:
    assert get_host() is olmo_host
    assert {"core", "data"} <= set(olmo_host.plugins)


@pytest.fixture
def installed_example(monkeypatch: pytest.MonkeyPatch, example_plugin: ModuleType) -> ModuleType:
    """The example plugin as if it were installed: its entry point is among those every new host loads."""
    from olmo_core import plugins

    entry_point = SimpleNamespace(name="example_length", value="olmo_filter_example.plugin",
                                  load=lambda: example_plugin)
    distribution = SimpleNamespace(metadata={"Name": "olmo-filter-example"}, version="0.3.1")
    original = plugins._entry_points
    monkeypatch.setattr(plugins, "_entry_points", lambda: [*original(), (entry_point, distribution)])
    return example_plugin


@pytest.mark.parametrize("name", ["example_length", "my-plugin", None])
def test_register_plugin_works_when_the_plugin_is_also_installed(installed_example: ModuleType, name: str | None,
                                                                  request: pytest.FixtureRequest) -> None:
    host: PluginHost = request.getfixturevalue("olmo_host")  # after the entry point is in place
    register_plugin = request.getfixturevalue("register_plugin")
    olmo_compose = request.getfixturevalue("olmo_compose")
    assert host.plugins["example_length"].source == "entry point"
    registered = register_plugin(installed_example, name)
    assert [info.name for info in host.plugins.values() if info.module == "olmo_filter_example.plugin"] == [registered]
    cfg = olmo_compose("data tag", ["input=x", "taggers=[example_length]", "taggers.example_length.min_words=3"])
    assert cfg.taggers["example_length"].min_words == 3


def test_register_plugin_replaces_an_installed_copy_of_another_module_object(installed_example: ModuleType,
                                                                              request: pytest.FixtureRequest) -> None:
    copy = ModuleType("olmo_filter_example.plugin")
    copy.__dict__.update({k: v for k, v in vars(installed_example).items() if k.startswith("olmo_register_")})
    host: PluginHost = request.getfixturevalue("olmo_host")
    request.getfixturevalue("register_plugin")(copy, "example-under-test")
    assert "example_length" not in host.plugins
    assert host.registry("taggers").get("example_length").plugin == "example-under-test"


def test_olmo_cli_takes_a_list_as_well_as_arguments(olmo_cli: Any) -> None:
    listed, spread = olmo_cli(["plugins", "--json"]), olmo_cli("plugins", "--json")
    assert listed.exit_code == spread.exit_code == 0 and listed.out == spread.out
    assert olmo_cli("plugins", ["--json"]).out == spread.out
