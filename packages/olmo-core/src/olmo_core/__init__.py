"""olmo-core: the small core of olmo.

The public API: the hook marker for plugins, the plugin host and its registries, configuration helpers and
the error family. Everything else lives in modules named for what they hold.
"""

from olmo_core.config import NAME_KEY, component, components
from olmo_core.errors import (
    ConfigError,
    MissingDependencyError,
    OlmoError,
    PluginError,
    UnknownComponentError,
    UsageError,
)
from olmo_core.plugins import PluginHost, get_host, hookimpl, reset_host, set_host
from olmo_core.registry import Component, Register, Registry
from olmo_core.version import __version__

__all__ = ["NAME_KEY", "Component", "ConfigError", "MissingDependencyError", "OlmoError", "PluginError", "PluginHost",
           "Register", "Registry", "UnknownComponentError", "UsageError", "__version__", "build", "component",
           "components", "get_host", "get_registry", "hookimpl", "reset_host", "set_host"]


def get_registry(kind: str) -> Registry:
    """The registry of ``kind`` (``"models"`` or ``"model"``) in the process-wide plugin host."""
    return get_host().registry(kind)


def build(kind: str, spec: object, /, **runtime: object) -> object:
    """Build a component of ``kind`` from a name, preset or composed config; ``runtime`` goes to its factory."""
    return get_registry(kind).build(spec, **runtime)
