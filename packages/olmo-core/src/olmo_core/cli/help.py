"""``--help`` texts: the command list, a command group, and one command with its composed config."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Sequence

from omegaconf import OmegaConf

from olmo_core.config import component_fields
from olmo_core.hydra_bridge import compose_node
from olmo_core.plugins import PluginHost
from olmo_core.registry import Component

__all__ = ["print_command_help", "print_group_help", "print_main_help"]

ABOUT = """\
olmo: an open, end-to-end language-model framework. Raw documents go in; a curated corpus, a pretrained
model, evaluations and an instruction- and preference-tuned chat model come out."""

CONVENTIONS = """\
Every command is configured by Hydra: arguments are overrides (key=value, group=name, +key=value,
~key), -m/--multirun sweeps over comma-separated values (-m optim.lr=1e-3,3e-3), --cfg job prints the
composed config without running, and --help on any command lists its keys and components.
Errors print one line; OLMO_FULL_ERROR=1 shows the traceback. Plugins: OLMO_DISABLE_PLUGINS=name,...
disables installed plugins ('*' for all), OLMO_PLUGINS=module,... loads extra ones."""


def _table(rows: Sequence[tuple[str, str]], indent: int = 2) -> str:
    width = max((len(a) for a, _ in rows), default=0)
    return "\n".join(f"{' ' * indent}{a.ljust(width)}  {b}".rstrip() for a, b in rows)


def print_main_help(host: PluginHost) -> None:
    """``olmo --help``: what olmo is and every installed command."""
    rows = [(c.name, c.help) for c in sorted(host.registry("commands"), key=lambda c: c.name)]
    print(f"{ABOUT}\n\nusage: olmo <command> [key=value ...] [-m key=a,b ...] [--help]\n")
    print("commands:\n" + _table(rows) + "\n")
    print(CONVENTIONS)


def print_group_help(host: PluginHost, group: tuple[str, ...]) -> None:
    """``olmo data``: the commands under a group."""
    prefix = " ".join(group)
    rows = [(c.name, c.help) for c in sorted(host.registry("commands"), key=lambda c: c.name)
            if c.name.split()[: len(group)] == list(group)]
    print(f"usage: olmo {prefix} <command> [key=value ...]\n\ncommands:\n{_table(rows)}")


def print_command_help(host: PluginHost, command: Component, overrides: Sequence[str] = ()) -> None:
    """``olmo <command> --help``: the command's documentation, component groups and composed config."""
    print(f"usage: olmo {command.name} [key=value ...] [-m key=a,b ...] [--cfg job]\n")
    doc = inspect.getdoc(command.factory) or command.help
    print(textwrap.indent(doc, "  ") + "\n")
    if command.config is None:
        print("This command takes no configuration.")
        return
    fields = component_fields(command.config)
    if fields:
        rows = []
        for f in fields:
            registry = host.registry(f.kind)
            how = f"{f.key}=[a,b]" if f.many else f"{f.key}=<name>"
            rows.append((f.key, f"{registry.kind.description}; choose with {how}; default: {f.default}; "
                                  f"available: {', '.join(registry.options()) or 'none installed'}"))
        print("components:\n" + _table(rows) + "\n")
    cfg = compose_node(command, overrides, host=host)
    print("config (override any key with key=value; ??? marks a value you must set):")
    print(textwrap.indent(OmegaConf.to_yaml(cfg).rstrip() or "{}", "  "))
