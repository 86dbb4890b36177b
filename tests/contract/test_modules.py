"""Every module of every installed olmo package imports cleanly with warnings as errors, and every
registered config composes."""

from __future__ import annotations

import importlib.util
import pkgutil
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from olmo_core.hydra_bridge import compose_node
from olmo_core.kinds import KINDS
from olmo_core.plugins import PluginHost

PACKAGES = ["olmo_core", "olmo_data", "olmo_train", "olmo_eval", "olmo_adapt"]
NEEDS = {"olmo_core.testing": "pytest"}


def modules(package: str) -> list[str]:
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    names = [package]
    for info in pkgutil.walk_packages(spec.submodule_search_locations, prefix=f"{package}."):
        if not info.name.endswith("__main__"):
            names.append(info.name)
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_modules_import_with_warnings_as_errors(package: str) -> None:
    names = modules(package)
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    result = subprocess.run([sys.executable, "-W", "error", "-c", code, *names], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_every_registered_config_composes(olmo_host: PluginHost) -> None:
    for kind in KINDS:
        for component in olmo_host.registry(kind):
            if component.config is not None:
                OmegaConf.structured(component.default_config())
                for preset in component.presets:
                    OmegaConf.structured(component.preset_config(preset))
    for command in olmo_host.registry("commands"):
        compose_node(command, host=olmo_host)


def test_olmo_starts_without_importing_torch() -> None:
    """Loading every plugin and its registrations (what each `olmo` command does first) leaves torch out:
    commands that do not train or evaluate start in about a second."""
    code = ("import sys\nfrom olmo_core.plugins import get_host\nhost = get_host()\n"
            "from olmo_core.kinds import KINDS\nfor kind in KINDS: host.registry(kind)\n"
            "print(sorted(m for m in ('torch', 'transformers', 'matplotlib') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
