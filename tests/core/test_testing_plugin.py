from __future__ import annotations

import pytest

from olmo_core.plugins import PluginHost, get_host


def test_pytest_plugin_is_loaded_through_its_entry_point(pytestconfig: pytest.Config) -> None:
    plugin = pytestconfig.pluginmanager.get_plugin("olmo")
    assert plugin is not None and plugin.__name__ == "olmo_core.testing"


def test_olmo_host_fixture_is_the_process_host(olmo_host: PluginHost) -> None:
    assert get_host() is olmo_host
    assert {"core", "data"} <= set(olmo_host.plugins)
