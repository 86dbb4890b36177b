"""``--help`` texts: the command list, a command group, and one command with its composed config.

A command's help shows every key of its composed config with its value and its documentation: the
docstring under the field in the config class (or a base class), read from the source with :mod:`ast`.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import re
import shutil
import textwrap
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from olmo_core.config import NAME_KEY, component_fields, names_of
from olmo_core.hydra_bridge import compose_node
from olmo_core.plugins import PluginHost, get_host
from olmo_core.registry import Component

__all__ = ["OFFERED", "field_docs", "print_command_help", "print_group_help", "print_main_help", "summary"]

ABOUT = """\
olmo: an open, end-to-end language-model framework. Raw documents go in; a curated corpus, a pretrained
model, evaluations and an instruction- and preference-tuned chat model come out."""

CONVENTIONS = """\
Every command is configured by Hydra: arguments are overrides (key=value, group=name, +key=value,
~key), -m/--multirun sweeps over comma-separated values (-m optim.lr=1e-3,3e-3), --cfg job prints the
composed config without running, and --help on any command lists its keys and components.
Errors print one line; OLMO_FULL_ERROR=1 shows the traceback. Messages go to stderr and each job's
log.txt; OLMO_LOG_LEVEL=DEBUG shows more, WARNING less. Plugins: OLMO_DISABLE_PLUGINS=name,...
disables installed plugins ('*' for all), OLMO_PLUGINS=module,... loads extra ones."""


OFFERED = "offered"
"""The metadata key (beside ``help``) of a command config's component field that names the only components the
command takes there (it refuses the others): its --help lists those alone (``olmo adapt sft`` lists sft, not dpo)."""

_ROLE = re.compile(r":[a-z:]+:`(~?)([^`<]*?)\s*(?:<[^>]*>)?`")


def plain(text: str) -> str:
    """Docstring markup as a terminal shows it: code in double backquotes gets single ones, a cross-reference
    (a ``:func:`` or ``:class:`` role; with ``~``, only the last name) becomes its target in single backquotes,
    and the ``::`` that introduces a literal block one colon."""
    text = _ROLE.sub(lambda m: f"`{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}`", text)
    return text.replace("``", "`").replace("::\n", ":\n")


def _width() -> int:
    return max(shutil.get_terminal_size((100, 24)).columns, 60)


def _table(rows: Sequence[tuple[str, str]], indent: int = 2) -> str:
    """Two columns; the second wraps under itself, or starts on the next line after a very long first one."""
    width = max((len(a) for a, _ in rows if len(a) <= 40), default=0)
    lines = []
    for a, b in rows:
        b = plain(b)
        pad = " " * (indent + width + 2)
        if len(a) > width and b:
            lines.append(" " * indent + a)
            lines.append(textwrap.fill(b, _width(), initial_indent=pad, subsequent_indent=pad))
        elif b:
            lines.append(textwrap.fill(b, _width(), initial_indent=" " * indent + a.ljust(width) + "  ",
                                       subsequent_indent=pad))
        else:
            lines.append(" " * indent + a)
    return "\n".join(lines)


def _first_paragraph(doc: str) -> str:
    return " ".join(doc.strip().split("\n\n")[0].split())


def summary(component: Component) -> str:
    """What ``olmo --help`` says of a command or component: the help it was registered with or, when that is
    the first line of its docstring, the docstring's first sentence, whole even when it spans lines."""
    doc = inspect.getdoc(component.factory) or ""
    if not doc or component.help != doc.partition("\n")[0]:
        return component.help
    paragraph = _first_paragraph(doc)
    match = re.match(r"(.+?[.!?])(?=\s+[A-Z`(]|$)", paragraph)
    return match.group(1) if match else paragraph


@functools.cache
def _own_field_docs(cls: type) -> dict[str, str]:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    classdef = next((node for node in tree.body if isinstance(node, ast.ClassDef)), None)
    docs: dict[str, str] = {}
    body = classdef.body if classdef is not None else []
    for field, doc in zip(body, body[1:]):
        if (isinstance(field, ast.AnnAssign) and isinstance(field.target, ast.Name) and isinstance(doc, ast.Expr)
                and isinstance(doc.value, ast.Constant) and isinstance(doc.value.value, str)):
            docs[field.target.id] = inspect.cleandoc(doc.value.value)
    return docs


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of the dataclass ``cls`` (``x: int = 1`` then ``\"\"\"...\"\"\"``), from
    its source and its bases' (a subclass's own docstring wins); fields without one are left out."""
    docs: dict[str, str] = {}
    for base in reversed(cls.__mro__):
        if base is not object:
            docs.update(_own_field_docs(base))
    return docs


def print_main_help(host: PluginHost) -> None:
    """``olmo --help``: what olmo is and every installed command."""
    rows = [(c.name, summary(c)) for c in sorted(host.registry("commands"), key=lambda c: c.name)]
    print(f"{ABOUT}\n\nusage: olmo <command> [key=value ...] [-m key=a,b ...] [--help]\n")
    print("commands:\n" + _table(rows) + "\n")
    print(CONVENTIONS)
    if host.broken:
        print(f"\nbroken plugins (left out; `olmo plugins` lists them):\n{_table(sorted(host.broken.items()))}")


def print_group_help(host: PluginHost, group: tuple[str, ...]) -> None:
    """``olmo data``: the commands under a group."""
    prefix = " ".join(group)
    rows = [(c.name, summary(c)) for c in sorted(host.registry("commands"), key=lambda c: c.name)
            if c.name.split()[: len(group)] == list(group)]
    print(f"usage: olmo {prefix} <command> [key=value ...]\n\ncommands:\n{_table(rows)}")


def print_command_help(host: PluginHost, command: Component, overrides: Sequence[str] = ()) -> None:
    """``olmo <command> --help``: the command's documentation, every component that each of its component
    fields can select (with that component's keys), and each key of the config composed with ``overrides``
    beside its value and documentation."""
    print(f"usage: olmo {command.name} [key=value ...] [-m key=a,b ...] [--cfg job]\n")
    doc = inspect.getdoc(command.factory) or command.help
    print(textwrap.indent(plain(doc), "  ") + "\n")
    if command.config is None:
        print("This command takes no configuration.")
        return
    fields = component_fields(command.config)
    offered = {f.name: f.metadata[OFFERED] for f in dataclasses.fields(command.config) if OFFERED in f.metadata}
    if fields:
        print("components (the keys of the chosen ones are documented under config):")
        for f in fields:
            registry = host.registry(f.kind)
            only = offered.get(f.path[0]) if len(f.path) == 1 else None
            how = f"{f.key}=[a,b]" if f.many else f"{f.key}=<name>"
            default = ", ".join(f.defaults) or "none"
            adds = f"; +{f.key}=[c] adds to them" if f.many and f.defaults else ""
            print(f"  {how}: {registry.kind.description} (default: {default}{adds})")
            print(_table([row for c in sorted(registry, key=lambda c: c.name) if only is None or c.name in only
                          for row in _component_rows(c)], 4))
        print()
    cfg = compose_node(command, overrides, host=host)
    print("config (override any key with key=value; ??? marks a value you must set):")
    rows = _config_rows(cfg, command.config, "", _slot_docs(host, command))
    print(_table(rows) if rows else "  {}")


def _component_rows(c: Component) -> list[tuple[str, str]]:
    also = [f"{what}: {', '.join(names)}" for what, names in
            (("alias", c.aliases), ("presets", sorted(c.presets))) if names]
    name = f"{c.name} ({'; '.join(also)})" if also else c.name
    keys = [f.name for f in dataclasses.fields(c.config) if f.name != NAME_KEY] if c.config else []
    return [(name, summary(c)), ("", f"keys: {', '.join(keys)}" if keys else "no keys")]


def _slot_docs(host: PluginHost, command: Component) -> dict[str, str]:
    """The documentation of a job command's input keys and ``output``, from its job's slots."""
    from olmo_core.job_command import OUTPUT

    for job in host.registry("jobs"):
        if getattr(job.factory, "command", "") == command.name:
            docs = {name: slot.help for name, slot in job.factory.inputs.items() if slot.help}
            writes = "; ".join(f"{name}: {slot.help}" for name, slot in job.factory.outputs.items() if slot.help)
            docs[OUTPUT] = "The directory the job writes into" + (f" ({writes})." if writes else ".") + \
                f" {_default_output(job.factory)}"
            return docs
    return {}


def _default_output(job_class: Any) -> str:
    """What ``output`` is when not given: ``Default: runs/train.``, ``Required.``, or for a job whose default depends
    on its inputs the first line of its ``default_workdir``'s documentation."""
    try:
        default = job_class().default_workdir(None, {})
    except Exception:  # the default depends on the inputs: the method says how
        described = (inspect.getdoc(job_class.default_workdir) or "").split("\n")[0].replace("``", "")
        return f"Default: {described}" if described and job_class.default_workdir.__doc__ else ""
    return f"Default: {default}." if default else "Required."


def _config_rows(node: DictConfig, cls: type | None, prefix: str, extra: dict[str, str]) -> list[tuple[str, str]]:
    """``key: value`` and its documentation for every key of ``node``, components' keys included."""
    docs = {**(field_docs(cls) if cls is not None else {}), **extra}
    fields = {f.name: f for f in dataclasses.fields(cls)} if cls is not None else {}
    many = {f.key for f in component_fields(cls) if f.many} if cls is not None else set()
    rows: list[tuple[str, str]] = []
    for key in node:
        if key == NAME_KEY:
            continue
        child = node._get_node(key)
        path = f"{prefix}{key}"
        f = fields.get(str(key))
        doc = _first_paragraph(docs.get(str(key)) or (f.metadata.get("help", "") if f is not None else ""))
        if f is not None and (kind := names_of(f)):
            doc += f" Installed: {', '.join(get_host().registry(kind).options())}."
        if isinstance(child, DictConfig) and not child._is_none() and not child._is_missing():
            if key in many:  # the selected components: the entries that carry their name
                selected = [option for option in child if _named(child._get_node(option))]
                rows.append((f"{path}: [{', '.join(str(option) for option in selected)}]", doc))
                for option in selected:
                    sub = child._get_node(option)
                    rows += _config_rows(sub, _type(sub), f"{path}.{option}.", {})  # type: ignore[arg-type]
                continue
            named = NAME_KEY in child
            if named or _type(child) is not None:
                if named:
                    rows.append((f"{path}: {child[NAME_KEY]}", doc))
                rows += _config_rows(child, _type(child), f"{path}.", {})
                continue
        rows.append((f"{path}: {_show(child)}", doc))
    return rows


def _named(node: Any) -> bool:
    return isinstance(node, DictConfig) and not node._is_none() and not node._is_missing() and NAME_KEY in node


def _type(node: DictConfig) -> type | None:
    kind = OmegaConf.get_type(node)
    return kind if isinstance(kind, type) and dataclasses.is_dataclass(kind) else None


def _show(node: Any) -> str:
    """A value as written on the command line (YAML flow style), interpolations and ``???`` unresolved."""
    if isinstance(node, (DictConfig, ListConfig)):
        if node._is_none():
            return "null"
        if node._is_missing():
            return "???"
        value = OmegaConf.to_container(node, resolve=False)
    else:
        value = node._value()
    return _flow(value)


def _flow(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if isinstance(value, str) and (value == "" or value != value.strip()):
        return repr(value)
    return str(value)
