"""olmo-core's built-in components, registered through the same hooks as any plugin."""

from __future__ import annotations

from olmo_core.plugins import hookimpl
from olmo_core.plugins_command import PluginsConfig, plugins_command
from olmo_core.registry import Register


@hookimpl(trylast=True)
def olmo_register_commands(register: Register) -> None:
    register("plugins", plugins_command, config=PluginsConfig)
