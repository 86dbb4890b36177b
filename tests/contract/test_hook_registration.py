"""Each registration hook, exercised through a real plugin: its components reach the registry, the listing
and (for configs) Hydra's ConfigStore."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from olmo_core import hookimpl
from olmo_core.kinds import KINDS
from olmo_core.plugins import PluginHost

REGISTRATION_HOOKS = [
    "olmo_register_models",
    "olmo_register_optimizers",
    "olmo_register_schedulers",
    "olmo_register_tokenizers",
    "olmo_register_sources",
    "olmo_register_taggers",
    "olmo_register_dedupers",
    "olmo_register_mixers",
    "olmo_register_train_backends",
    "olmo_register_callbacks",
    "olmo_register_tasks",
    "olmo_register_evaluators",
    "olmo_register_eval_models",
    "olmo_register_adapters",
    "olmo_register_jobs",
    "olmo_register_commands",
]


@dataclass(kw_only=True)
class ProbeConfig:
    size: int = 3


def probe(config: ProbeConfig, **runtime: Any) -> tuple[int, dict[str, Any]]:
    """A probe component."""
    return config.size, runtime


def test_every_kind_has_a_registration_hook_listed_here() -> None:
    assert sorted(k.hook for k in KINDS.values()) == sorted(REGISTRATION_HOOKS)


@pytest.mark.parametrize("hook", REGISTRATION_HOOKS)
def test_registration_hook(hook: str, olmo_host: PluginHost, register_plugin: Any) -> None:
    kind = hook.removeprefix("olmo_register_")
    name = f"probe-{kind}".replace("_", "-")

    def implementation(register: Any) -> None:
        register(name, probe, config=ProbeConfig, aliases=(f"{name}-alias",), presets={f"{name}-big": ProbeConfig(size=9)})

    plugin = type("ProbePlugin", (), {hook: staticmethod(hookimpl(implementation))})
    register_plugin(plugin, f"probe-{kind}")
    registry = olmo_host.registry(kind)
    assert registry.get(f"{name}-alias").name == name
    assert registry.build(f"{name}-big", extra=1) == (9, {"extra": 1})
    listed = {c["name"]: c for c in olmo_host.describe()["components"][kind]}
    assert listed[name]["plugin"] == f"probe-{kind}" and listed[name]["help"] == "A probe component."
