"""Splitting an ``olmo`` command line into the command, its flags and its Hydra overrides."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from olmo_core.errors import UsageError, did_you_mean
from olmo_core.plugins import PluginHost
from olmo_core.registry import Component

__all__ = ["CommandLine", "parse_command_line"]

HELP_FLAGS = ("-h", "--help")
MULTIRUN_FLAGS = ("-m", "--multirun")
# Hydra's own flags that olmo passes through, with whether each takes a value.
HYDRA_FLAGS = {"--cfg": True, "-c": True, "--package": True, "-p": True, "--resolve": False, "--info": False,
               "--config-dir": True, "-cd": True, "--config-name": True, "-cn": True, "--config-path": True,
               "-cp": True, "--hydra-help": False}


@dataclass(kw_only=True)
class CommandLine:
    """A parsed command line: either a command with its arguments, or a command group to describe."""

    command: Component | None = None
    group: tuple[str, ...] = ()
    overrides: list[str] = field(default_factory=list)
    hydra_flags: list[str] = field(default_factory=list)
    multirun: bool = False
    help: bool = False


def _find_command(words: list[str], host: PluginHost) -> tuple[Component | None, int]:
    commands = {tuple(c.name.split()): c for c in host.registry("commands")}
    for n in range(len(words), 0, -1):
        if tuple(words[:n]) in commands:
            return commands[tuple(words[:n])], n
    return None, 0


def parse_command_line(args: list[str], host: PluginHost) -> CommandLine:
    """Split ``args`` into a command (the longest registered name that starts them), flags and overrides."""
    words: list[str] = []
    for arg in args:
        if arg.startswith("-") or "=" in arg or arg.startswith(("+", "~")):
            break
        words.append(arg)
    command, used = _find_command(words, host)
    if command is None:
        names = [tuple(c.name.split()) for c in host.registry("commands")]
        prefix = tuple(words)
        if prefix and any(n[: len(prefix)] == prefix for n in names):
            return CommandLine(group=prefix)
        depth = max(len(prefix), 1)
        choices = {" ".join(n[:depth]) for n in names}
        typed = " ".join(prefix) or args[0]
        raise UsageError(f"unknown command '{typed}'{did_you_mean(typed, choices)}; see `olmo --help`")
    line = CommandLine(command=command)
    rest = args[used:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        i += 1
        if arg in HELP_FLAGS:
            line.help = True
        elif arg in MULTIRUN_FLAGS:
            line.multirun = True
        elif (flag := arg.split("=", 1)[0]) in HYDRA_FLAGS:  # ``--config-name exp`` or ``--config-name=exp``
            line.hydra_flags.append(arg)
            if HYDRA_FLAGS[flag] and "=" not in arg:
                if i >= len(rest):
                    raise UsageError(f"{arg} needs a value (for example `--cfg job`)")
                line.hydra_flags.append(rest[i])
                i += 1
        elif arg.startswith("--"):
            line.overrides.append(_flag_to_override(arg, command))
        elif "=" in arg or arg.startswith(("+", "~")):
            line.overrides.append(arg)
        else:
            raise UsageError(f"unexpected argument '{arg}' for `olmo {command.name}`: "
                             f"arguments are overrides like key=value (see `olmo {command.name} --help`)")
    return line


def _flag_to_override(arg: str, command: Component) -> str:
    """``--json`` becomes ``json=true``, ``--no-json`` ``json=false``, ``--out=x`` ``out=x``."""
    name, eq, value = arg[2:].partition("=")
    fields: dict[str, Any] = {f.name: f for f in dataclasses.fields(command.config)} if command.config else {}
    key = name.replace("-", "_")
    negated = key.startswith("no_") and key[3:] in fields
    if negated:
        key = key[3:]
    if key not in fields:
        flags = sorted(f"--{k}" for k in fields)
        raise UsageError(f"unknown option '--{name}' for `olmo {command.name}`{did_you_mean('--' + name, flags)}; "
                         f"options are the config keys: {', '.join(flags) or 'none'}")
    if eq:
        return f"{key}={value}"
    if fields[key].type not in (bool, "bool"):
        raise UsageError(f"option '--{name}' of `olmo {command.name}` needs a value: --{name}=... or {key}=...")
    return f"{key}={'false' if negated else 'true'}"
