"""``olmo plugins``: what is installed, from which distribution, implementing which hooks."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from olmo_core.errors import PluginError
from olmo_core.io import write_text
from olmo_core.jobs import text_table
from olmo_core.plugins import get_host

__all__ = ["PluginsConfig", "plugins_command"]


@dataclass(kw_only=True)
class PluginsConfig:
    """Options of ``olmo plugins``."""

    json: bool = False
    """Print JSON (plugins, distributions, versions, hooks, components per kind) instead of tables."""
    output: str | None = None
    """Also write the JSON to this path or URL (every run directory keeps one)."""


def plugins_command(config: PluginsConfig) -> dict[str, Any]:
    """List installed plugins, their versions and hooks, and the components they register (with their aliases
    and presets). Broken plugins are listed after them, with their errors, and make it exit with status 1."""
    info = get_host().describe()
    text = json.dumps(info, indent=2)
    if config.output:
        write_text(config.output, text + "\n")
    if config.json:
        print(text)
        _fail_if_broken(info, "in its 'broken' list")
        return info
    print(f"{len(info['plugins'])} plugins:")
    rows = [(p["name"], f"{p['distribution'] or p['source']} {p['version'] or ''}".strip(),
             ", ".join(h.removeprefix("olmo_") for h in p["hooks"]) or "-") for p in info["plugins"]]
    for line in text_table(rows):
        print("  " + line)
    print("\ncomponents:")
    for kind, components in info["components"].items():
        if components:
            names = ", ".join(_component_label(c) for c in components)
            print(f"  {kind}: {names}")
    if info["broken"]:
        print(f"\n{len(info['broken'])} broken plugins, left out (disable an installed one with "
              f"OLMO_DISABLE_PLUGINS=name; leave a module out of OLMO_PLUGINS):")
        for plugin in info["broken"]:
            print(f"  {plugin['name']}: {plugin['error']}")
    _fail_if_broken(info, "listed above with their errors")
    return info


def _fail_if_broken(info: dict[str, Any], where: str) -> None:
    """Exit with status 1 (a one-line error on stderr) when a plugin is broken, after listing it."""
    if info["broken"]:
        names = ", ".join(plugin["name"] for plugin in info["broken"])
        raise PluginError(f"{len(info['broken'])} broken plugins, left out: {names} ({where})")


def _component_label(component: dict[str, Any]) -> str:
    """``name (alias a, b; +2 presets)``, for the components table."""
    notes = []
    if component["aliases"]:
        notes.append(f"alias{'es' if len(component['aliases']) > 1 else ''} {', '.join(component['aliases'])}")
    if component["presets"]:
        notes.append(f"+{len(component['presets'])} presets")
    return component["name"] + (f" ({'; '.join(notes)})" if notes else "")
