"""A pytest plugin for olmo and its plugin authors, loaded automatically (entry point ``pytest11``).

Fixtures:

``olmo_host``
    A fresh :class:`~olmo_core.PluginHost` with every installed plugin loaded, made the process-wide host
    for the test and put back afterwards.
``register_plugin``
    ``register_plugin(plugin, name=None)`` registers a plugin (a module, class or object with hook
    implementations) into ``olmo_host`` for one test. When the plugin under test is also installed (its
    entry point, or a module named in ``OLMO_PLUGINS``, under the same name, object or module), the
    installed copy is left out of the test's host, so that the test runs the code it registered.
``olmo_compose``
    ``olmo_compose("data tag", ["taggers=[mine]"])`` composes a command's config with Hydra overrides and
    returns the command's config dataclass.
``olmo_cli``
    ``olmo_cli("plugins", "--json")`` (or ``olmo_cli(["plugins", "--json"])``) runs the ``olmo`` command
    in-process and returns an :class:`OlmoResult` with the exit code and captured output.

Example, in a plugin's own tests::

    def test_my_filter_is_selectable(register_plugin, olmo_compose):
        register_plugin(my_plugin)
        cfg = olmo_compose("data tag", ["taggers=[my_filter]"])
        assert "my_filter" in cfg.taggers
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from olmo_core.plugins import PluginHost, set_host

__all__ = ["OlmoResult"]


@dataclass(frozen=True)
class OlmoResult:
    """What one in-process ``olmo`` run returned and printed."""

    exit_code: int
    out: str
    err: str


@pytest.fixture
def olmo_host() -> Iterator[PluginHost]:
    """A fresh plugin host, process-wide for the duration of the test."""
    host = PluginHost()
    previous = set_host(host)
    try:
        yield host
    finally:
        set_host(previous)


@pytest.fixture
def register_plugin(olmo_host: PluginHost) -> Iterator[Callable[..., str]]:
    """Register plugins into the test's host; they are unregistered when the test ends.

    An installed copy of the same plugin (same name, same object or same module) is unregistered first, for
    the rest of the test: the test's host is its own, so the next test loads the installed copy again.
    """
    names: list[str] = []

    def register(plugin: Any, name: str | None = None) -> str:
        for installed in _installed_copies(olmo_host, plugin, name):
            olmo_host.unregister(installed)
        names.append(olmo_host.register(plugin, name))
        return names[-1]

    yield register
    for name in reversed(names):
        if name in olmo_host.plugins:
            olmo_host.unregister(name)


def _installed_copies(host: PluginHost, plugin: Any, name: str | None) -> list[str]:
    """The plugins loaded from an entry point or ``OLMO_PLUGINS`` that are ``plugin`` under another guise: the
    same name, the same object, or the same import path (``pkg.plugin``, ``pkg.plugin:Plugin``)."""
    name = name or getattr(plugin, "__name__", None)
    if isinstance(plugin, ModuleType):
        spec: str | None = plugin.__name__
    elif isinstance(plugin, type):
        spec = f"{plugin.__module__}:{plugin.__qualname__}"
    else:
        spec = None
    return [info.name for info in host.plugins.values() if info.source in ("entry point", "OLMO_PLUGINS")
            and (info.name == name or info.plugin is plugin or "".join(info.module.split()) == spec)]


@pytest.fixture
def olmo_compose(olmo_host: PluginHost) -> Callable[..., Any]:
    """Compose a command's config: ``olmo_compose(command_name, overrides=())``."""
    from olmo_core.hydra_bridge import compose_command

    def compose(command: str, overrides: Sequence[str] = ()) -> Any:
        return compose_command(olmo_host.registry("commands").get(command), overrides, host=olmo_host)

    return compose


@pytest.fixture
def olmo_cli(olmo_host: PluginHost, capsys: pytest.CaptureFixture[str]) -> Callable[..., OlmoResult]:
    """Run ``olmo`` in-process with the test's host: ``olmo_cli("plugins", "--json")``, or with the arguments
    as one list (``olmo_cli(["plugins", "--json"])``), or both (``olmo_cli("data", "tag", overrides)``)."""
    from olmo_core.cli import main

    def run(*argv: str | Sequence[str]) -> OlmoResult:
        args = [arg for item in argv for arg in ([item] if isinstance(item, str) else item)]
        capsys.readouterr()
        code = main(args)
        captured = capsys.readouterr()
        return OlmoResult(code, captured.out, captured.err)

    return run
