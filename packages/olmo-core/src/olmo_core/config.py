"""Typed configuration: the conventions every component config follows.

A component owns a ``@dataclass(kw_only=True)`` config whose fields all have defaults and a documented
meaning. Commands hold components in fields made by :func:`component` (one, ``model=olmo``) or
:func:`components` (several, ``taggers=[a,b]``); the Hydra bridge turns those fields into config groups.
When a config is composed, each selected component's node carries its registry name under ``_name_``, so
that a resolved config saved with a run is enough to rebuild every component. Sizes, counts and steps are
declared with :func:`positive` or :func:`non_negative` and checked by :func:`check_bounds` whenever a command's
config is composed, so that ``micro_batch_size=0`` fails in one line naming its key before anything runs.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from olmo_core.errors import ConfigError, PluginError

__all__ = ["NAME_KEY", "REQUIRED", "changed_settings", "check_bounds", "check_config_class", "component", "components",
           "config_of", "names", "names_of", "non_negative", "positive", "preset", "preset_defaults", "preset_fields",
           "to_dict"]

NAME_KEY = "_name_"
REQUIRED: Any = "???"
"""The default of a config field the user must set (Hydra's missing value): ``input: str = REQUIRED``."""
_KIND = "olmo_kind"
_DEFAULT = "olmo_default"
_MANY = "olmo_many"
_PROVIDERS = "olmo_providers"
_PRESETS = "olmo_presets"
_ABOVE = "olmo_above"
_NAMES = "olmo_names"


def positive(default: Any) -> Any:
    """A config field (a size, a count, a number of steps) whose value must be above 0; ``None`` is allowed
    where the field's type allows it."""
    return dataclasses.field(default=default, metadata={_ABOVE: True})


def non_negative(default: Any) -> Any:
    """A config field whose value must be 0 or more (for one where 0 turns something off)."""
    return dataclasses.field(default=default, metadata={_ABOVE: False})


def names(kind: str, default: str) -> Any:
    """A config field whose value names a registered component of ``kind`` (``tokenizers``), where a path may
    also be given: ``olmo <command> --help`` lists the names installed (:func:`names_of`)."""
    return dataclasses.field(default=default, metadata={_NAMES: kind})


def names_of(f: dataclasses.Field[Any]) -> str | None:
    """The kind whose registered names the field ``f`` takes (:func:`names`), or None."""
    return f.metadata.get(_NAMES)


def changed_settings(before: Any, now: Any, prefix: str = "") -> str:
    """The keys whose values differ between two settings (nested mappings of plain values), as
    ``bands: 14 -> 16, normalize: 'nfc' -> 'none'`` (a key that one side lacks shows as ``(none)``)."""
    if isinstance(before, Mapping) and isinstance(now, Mapping):
        keys = [*before, *(key for key in now if key not in before)]
        return ", ".join(change for key in keys if (change := changed_settings(
            before.get(key, _ABSENT), now.get(key, _ABSENT), f"{prefix}{key}.")))
    if before == now:
        return ""
    return f"{prefix.rstrip('.') or 'value'}: {_shown(before)} -> {_shown(now)}"


_ABSENT = object()


def _shown(value: Any) -> str:
    return "(none)" if value is _ABSENT else repr(value)


def check_bounds(config: Any, prefix: str = "", *, skip: Collection[str] = ()) -> None:
    """Check every :func:`positive` and :func:`non_negative` field of ``config`` (a config dataclass instance or
    an OmegaConf node of one), nested configs included, or raise a :class:`ConfigError` naming its full key.
    The top-level keys in ``skip`` are left unchecked (and unresolved: Hydra's own ``hydra`` node)."""
    from omegaconf import DictConfig, OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    cls = OmegaConf.get_type(config) if isinstance(config, DictConfig) else type(config)
    strict = {f.name: f.metadata[_ABOVE] for f in dataclasses.fields(cls) if _ABOVE in f.metadata} \
        if dataclasses.is_dataclass(cls) else {}
    if isinstance(config, (DictConfig, Mapping)):
        keys = list(config)
    elif dataclasses.is_dataclass(config) and not isinstance(config, type):
        keys = [f.name for f in dataclasses.fields(config)]
    else:
        return
    for key in keys:
        if key in skip:
            continue
        try:
            value = config[key] if isinstance(config, (DictConfig, Mapping)) else getattr(config, key)
        except OmegaConfBaseException:  # a required value not given yet (???): reported where it is needed
            continue
        if key in strict and isinstance(value, (int, float)) and not isinstance(value, bool) and (
                value < 0 or strict[key] and value == 0):
            raise ConfigError(f"{prefix}{key}={value} is out of range: it must be "
                              f"{'above 0' if strict[key] else '0 or more'}")
        check_bounds(value, f"{prefix}{key}.")


def component(kind: str, default: str | None = None, *, help: str = "",
              providers: Mapping[str, str] | None = None) -> Any:
    """A command-config field that selects one registered component of ``kind`` (``model=olmo``).

    ``default`` is the component, alias or preset selected when the user names none. ``providers`` maps
    a default's name to the distribution that registers it, so that a missing one is reported with the
    command that installs it.
    """
    return dataclasses.field(default=None, metadata={_KIND: kind, _DEFAULT: default, _MANY: False, "help": help,
                                                     _PROVIDERS: dict(providers or {})})


def components(kind: str, default: Sequence[str] = (), *, help: str = "",
               providers: Mapping[str, str] | None = None) -> Any:
    """A command-config field that selects several components of ``kind``, in order (``taggers=[a,b]``).

    The composed value maps each selected name to its configuration. ``providers`` is as for
    :func:`component`.
    """
    return dataclasses.field(default_factory=dict,
                             metadata={_KIND: kind, _DEFAULT: list(default), _MANY: True, "help": help,
                                       _PROVIDERS: dict(providers or {})})


def preset(directory: str | os.PathLike[str], default: str = "default", *, help: str = "") -> Any:
    """A command-config field that names a preset: a YAML file of ``directory`` (``<name>.yaml``).

    A preset is a Hydra config of its own, packaged at the top (``# @package _global_``): it sets any keys
    and selects components with ``override`` entries in its defaults list, and may start from another preset
    (``defaults: [default, ...]``). ``default`` applies when the user names none. ``olmo <command>
    <field>=<name> key=value`` composes the preset before the user's overrides, so the user's ``key=value``
    wins, and an experiment's YAML (``--config-dir``/``--config-name``) comes after it too.
    """
    options = sorted(p.stem for p in Path(directory).glob("*.yaml"))
    if default not in options:
        raise PluginError(f"preset default {default!r} is not one of the presets in {directory}: {options}")
    return dataclasses.field(default=default, metadata={_PRESETS: str(directory), "help": help})


def preset_fields(cls: type) -> dict[str, dict[str, Path]]:
    """The preset fields of the dataclass ``cls``: field name to its options (name to YAML file)."""
    return {f.name: {p.stem: p for p in sorted(Path(f.metadata[_PRESETS]).glob("*.yaml"))}
            for f in dataclasses.fields(cls) if _PRESETS in f.metadata}


def preset_defaults(cls: type) -> dict[str, str]:
    """The preset fields of the dataclass ``cls``: field name to the preset applied when none is named."""
    return {f.name: f.default for f in dataclasses.fields(cls) if _PRESETS in f.metadata}


@dataclasses.dataclass(frozen=True)
class ComponentField:
    """A component field found in a command config: where it sits and what it selects."""

    path: tuple[str, ...]
    kind: str
    default: str | list[str] | None
    many: bool
    providers: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def defaults(self) -> list[str]:
        """The default selection as a list of names."""
        if self.default is None:
            return []
        return list(self.default) if isinstance(self.default, list) else [self.default]

    @property
    def key(self) -> str:
        """The key that selects the field's components on the command line (its path joined with ``.``)."""
        return ".".join(self.path)


def component_fields(cls: type, prefix: tuple[str, ...] = ()) -> list[ComponentField]:
    """Every component field of the dataclass ``cls``, nested dataclass fields included."""
    found: list[ComponentField] = []
    for f in dataclasses.fields(cls):
        if _KIND in f.metadata:
            found.append(ComponentField(prefix + (f.name,), f.metadata[_KIND], f.metadata[_DEFAULT], f.metadata[_MANY],
                                        f.metadata.get(_PROVIDERS, {})))
        elif (nested := _nested_dataclass(f)) is not None:
            found.extend(component_fields(nested, prefix + (f.name,)))
    return found


def _nested_dataclass(f: dataclasses.Field[Any]) -> type | None:
    factory = f.default_factory
    if isinstance(factory, type) and dataclasses.is_dataclass(factory):
        return factory
    hint = f.type if isinstance(f.type, type) else None
    return hint if hint is not None and dataclasses.is_dataclass(hint) and factory is not dataclasses.MISSING else None


def check_config_class(cls: type, *, where: str) -> None:
    """Check that ``cls`` follows the config conventions, or raise a :class:`PluginError` naming ``where``."""
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise PluginError(f"the config of {where} must be a dataclass class, not {cls!r}")
    for f in dataclasses.fields(cls):
        if not f.kw_only:
            raise PluginError(f"the config {cls.__qualname__} of {where} must be declared "
                              f"@dataclass(kw_only=True) (field '{f.name}' is positional)")
        if f.name == NAME_KEY:
            raise PluginError(f"the config {cls.__qualname__} of {where} may not define '{NAME_KEY}'")


@functools.cache
def named_config_class(cls: type, name: str) -> type:
    """The subclass of ``cls`` that carries the component's registry name in ``_name_``.

    Its instances pickle (to worker processes, to cluster launchers) as the base class, the name and the
    field values, and are rebuilt through this function on the other side.
    """

    def __reduce__(self: Any) -> tuple[Any, ...]:
        return _rebuild_named, (cls, name, {f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    return dataclasses.make_dataclass(
        cls.__name__,
        [(NAME_KEY, str, dataclasses.field(default=name, kw_only=True))],
        bases=(cls,),
        namespace={"__module__": cls.__module__, "__doc__": cls.__doc__, "__reduce__": __reduce__},
    )


def _rebuild_named(cls: type, name: str, values: dict[str, Any]) -> Any:
    return named_config_class(cls, name)(**values)


def config_of(cls: type, value: Any) -> Any:
    """``value`` (an instance, a subclass instance carrying ``_name_``, a mapping or an OmegaConf node) as
    an instance of exactly ``cls``, with every field validated by OmegaConf."""
    if type(value) is cls:
        return value
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        values = {f.name: getattr(value, f.name) for f in dataclasses.fields(cls)}
        return cls(**values)
    data = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else dict(value)
    data.pop(NAME_KEY, None)
    try:
        node = OmegaConf.merge(OmegaConf.structured(cls), data)
        return OmegaConf.to_object(node)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        where = f" key '{key}'" if key else ""
        raise ConfigError(f"invalid {cls.__qualname__}{where}: {str(exc).splitlines()[0]}") from exc


def to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass (nested ones included) as plain JSON-able data."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {f.name: to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, Mapping):
        return {str(k): to_dict(v) for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return [to_dict(v) for v in config]
    return config
