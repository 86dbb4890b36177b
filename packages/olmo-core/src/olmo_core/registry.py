"""Registries of components, filled through the ``olmo_register_<kind>s`` hooks.

Each kind has one :class:`Registry`. Plugins never touch it directly: the host calls each plugin's hook with
a :class:`Register` callback bound to that plugin, so that every component records where it came from and a
duplicate name is reported with both distributions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from olmo_core.config import NAME_KEY, check_config_class, component_fields, config_of, named_config_class, to_dict
from olmo_core.errors import ConfigError, PluginError, UnknownComponentError
from olmo_core.kinds import Kind

__all__ = ["Component", "Register", "Registry", "resolve_components"]


class Register(Protocol):
    """The callback every registration hook receives (see :mod:`olmo_core.hookspecs`)."""

    def __call__(self, name: str, factory: Callable[..., Any], *, config: type | None = None,
                 aliases: Sequence[str] = (), presets: Mapping[str, Any] | None = None,
                 help: str | None = None) -> None: ...


@dataclass(frozen=True, kw_only=True)
class Component:
    """One registered component: what builds it, what configures it, and which plugin registered it."""

    kind: Kind
    name: str
    factory: Callable[..., Any]
    config: type | None = None
    aliases: tuple[str, ...] = ()
    presets: Mapping[str, Any] = field(default_factory=dict)
    help: str = ""
    plugin: str = ""
    distribution: str = ""

    @property
    def origin(self) -> str:
        """``plugin 'x' (distribution y 1.0)``, for messages."""
        where = f" ({self.distribution})" if self.distribution else ""
        return f"plugin '{self.plugin}'{where}"

    def default_config(self) -> Any:
        """A fresh default configuration, carrying the component's name (``_name_``)."""
        if self.config is None:
            return None
        return named_config_class(self.config, self.name)()

    def preset_config(self, preset: str) -> Any:
        """The named preset's configuration, carrying the component's name."""
        base = self.presets[preset]
        values = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
        return named_config_class(self.config, self.name)(**values)  # type: ignore[arg-type]

    def build(self, config: Any = None, /, **runtime: Any) -> Any:
        """Build the component from ``config`` (default: its default configuration)."""
        if self.config is None:
            return self.factory(**runtime)
        own = config_of(self.config, config if config is not None else self.config())
        return self.factory(own, **runtime)


class Registry:
    """The components of one kind, by name, alias and preset."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self._components: dict[str, Component] = {}
        self._options: dict[str, tuple[Component, str | None]] = {}

    def add(self, component: Component) -> None:
        """Add ``component``; every name, alias and preset it brings must be new."""
        where = f"{self.kind.singular} '{component.name}' of {component.origin}"
        if component.config is not None:
            check_config_class(component.config, where=where)
        for preset, value in component.presets.items():
            if component.config is None or not isinstance(value, component.config):
                raise PluginError(f"preset '{preset}' of {self.kind.singular} '{component.name}' from "
                                  f"{component.origin} is not an instance of its config class")
        if component.config is not None:
            _check_structured(component, where)
        options: dict[str, str | None] = {component.name: None}
        options.update({alias: None for alias in component.aliases})
        options.update({preset: preset for preset in component.presets})
        for option in options:
            if option in self._options:
                other = self._options[option][0]
                raise PluginError(f"{self.kind.singular} '{option}' is registered twice: by {other.origin} "
                                  f"and by {component.origin}; uninstall or disable one (OLMO_DISABLE_PLUGINS)")
        self._components[component.name] = component
        for option, preset in options.items():
            self._options[option] = (component, preset)

    @contextlib.contextmanager
    def all_or_nothing(self) -> Iterator[None]:
        """Keep what the block adds only if it ends without an error: a plugin whose registration fails leaves
        none of its components behind."""
        components, options = dict(self._components), dict(self._options)
        try:
            yield
        except BaseException:
            self._components, self._options = components, options
            raise

    def __contains__(self, option: object) -> bool:
        return option in self._options

    def __iter__(self) -> Iterator[Component]:
        return iter(self._components.values())

    def __len__(self) -> int:
        return len(self._components)

    def options(self) -> list[str]:
        """Every name users can select: component names, aliases and presets."""
        return sorted(self._options)

    def get(self, option: str) -> Component:
        """The component that ``option`` (a name, alias or preset) selects."""
        return self.resolve(option)[0]

    def resolve(self, option: str) -> tuple[Component, Any]:
        """The component ``option`` selects and the configuration it stands for (carrying ``_name_``)."""
        try:
            component, preset = self._options[option]
        except KeyError:
            raise UnknownComponentError(self.kind.singular, option, self._options) from None
        config = component.preset_config(preset) if preset else component.default_config()
        return component, config

    def build(self, spec: Any, /, **runtime: Any) -> Any:
        """Build a component from a name, alias or preset, or from a configuration carrying ``_name_``.

        A configuration may be a dataclass from the ConfigStore (as composed by Hydra), a mapping or an
        OmegaConf node; ``runtime`` is passed on to the factory.
        """
        if isinstance(spec, str):
            component, config = self.resolve(spec)
            return component.build(config, **runtime)
        return self.component_of(spec).build(spec, **runtime)

    def component_of(self, spec: Any) -> Component:
        """The component a name, alias or preset selects, or that a configuration names in ``_name_``."""
        if isinstance(spec, str):
            return self.get(spec)
        name = _name_of(spec)
        if name is None:
            raise PluginError(f"cannot tell which {self.kind.singular} to build from {spec!r}: "
                              f"it has no '{NAME_KEY}' key")
        return self.get(name)


def _check_structured(component: Component, where: str) -> None:
    """Check that the component's default configuration and its presets can be made and held by OmegaConf
    (every command that selects components of its kind puts every option's configuration into Hydra's
    ConfigStore, so one that cannot be would break them all, with an error naming no plugin)."""
    from omegaconf import OmegaConf

    cls = component.config
    assert cls is not None
    try:
        default = cls()
    except Exception as exc:
        raise PluginError(f"the config {cls.__qualname__} of {where} cannot be made from its defaults (every field "
                          f"needs one; use olmo_core.config.REQUIRED for a value the user must give): "
                          f"{type(exc).__name__}: {exc}") from exc
    for label, value in [("", default)] + [(f" (preset '{p}')", v) for p, v in component.presets.items()]:
        if _plain(value):
            continue
        try:
            OmegaConf.structured(value)
        except Exception as exc:
            detail = " ".join(str(exc).split())
            raise PluginError(f"the config {cls.__qualname__} of {where}{label} is not one OmegaConf can hold "
                              f"(supported field types: int, float, bool, str, bytes, pathlib.Path, Enum, "
                              f"dataclasses, lists, dicts, Optional and Any): {type(exc).__name__}: {detail}") from exc


_SCALARS = (int, float, bool, str)


def _plain(config: Any) -> bool:
    """Whether OmegaConf surely holds ``config``, told apart cheaply: every field is a scalar (int, float, bool,
    str), an optional one, ``Any``, a list or a dict of them, or a nested config of such fields, holding a value
    of its type. Most configs are such; OmegaConf takes about a millisecond for each, which every command would
    pay for every component at start-up."""
    try:
        hints = typing.get_type_hints(type(config))
    except Exception:
        return False
    return all(_plain_value(hints.get(f.name), getattr(config, f.name)) for f in dataclasses.fields(config))


def _plain_value(kind: Any, value: Any) -> bool:
    if kind in _SCALARS:
        return type(value) is kind or (kind is float and type(value) is int)
    if kind is Any:
        if type(value) is list:
            return all(_plain_value(Any, v) for v in value)
        if type(value) is dict:
            return all(type(k) is str and _plain_value(Any, v) for k, v in value.items())
        return value is None or type(value) in _SCALARS
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (types.UnionType, typing.Union) and len(args) == 2 and type(None) in args:
        return value is None or _plain_value(next(a for a in args if a is not type(None)), value)
    if origin is list and len(args) == 1:
        return type(value) is list and all(_plain_value(args[0], v) for v in value)
    if origin is dict and len(args) == 2 and args[0] is str:
        return type(value) is dict and all(type(k) is str and _plain_value(args[1], v) for k, v in value.items())
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return type(value) is kind and _plain(value)
    return False


def _name_of(spec: Any) -> str | None:
    if isinstance(spec, Mapping) or hasattr(spec, "keys"):
        return spec.get(NAME_KEY) if hasattr(spec, "get") else None
    return getattr(spec, NAME_KEY, None)


def make_register(registry: Registry, *, plugin: str, distribution: str) -> Register:
    """A :class:`Register` callback that adds to ``registry`` on behalf of one plugin."""

    def register(name: str, factory: Callable[..., Any], *, config: type | None = None, aliases: Sequence[str] = (),
                 presets: Mapping[str, Any] | None = None, help: str | None = None) -> None:
        if not isinstance(name, str) or not name or name != name.strip():
            raise PluginError(f"plugin '{plugin}' ({distribution}) registered a {registry.kind.singular} "
                              f"with an invalid name {name!r}")
        if not callable(factory):
            raise PluginError(f"{registry.kind.singular} '{name}' of plugin '{plugin}' ({distribution}): "
                              f"factory {factory!r} is not callable")
        summary = help if help is not None else (inspect.getdoc(factory) or "").partition("\n")[0]
        registry.add(Component(kind=registry.kind, name=name, factory=factory, config=config,
                               aliases=tuple(aliases), presets=dict(presets or {}), help=summary,
                               plugin=plugin, distribution=distribution))

    return register


def resolve_components(config: Any, registry_of: Callable[[str], Registry], *, prefix: str) -> Any:
    """A copy of ``config`` (a config dataclass, or a mapping carrying ``_name_``) whose component fields hold
    their components' configurations: a name selects that component or preset (``model: olmo-small``), a
    list selects several (``callbacks: [metrics]``), a mapping sets fields of the selected one. Values are
    checked against each component's config class; errors name the key as ``prefix.<field>``.
    ``registry_of(kind)`` gives the registry of a kind (``host.registry``)."""
    if not (dataclasses.is_dataclass(config) and not isinstance(config, type)):
        return config
    changes: dict[str, Any] = {}
    for f in component_fields(type(config)):
        if len(f.path) != 1:
            continue
        key = f.path[0]
        registry = registry_of(f.kind)
        value = getattr(config, key)
        if f.many:
            names = value if isinstance(value, (list, tuple)) else list(value or {})
            given = {} if isinstance(value, (list, tuple)) else dict(value or {})
            changes[key] = {name: _resolve_one(registry, name, given.get(name), f"{prefix}.{key}.{name}")
                            for name in names}
        elif value is not None:
            changes[key] = _resolve_one(registry, value, None, f"{prefix}.{key}")
    return dataclasses.replace(config, **changes) if changes else config


def _resolve_one(registry: Registry, value: Any, fields: Any, where: str) -> Any:
    """One component's configuration from a name (with optional field values) or a configuration."""
    from omegaconf import OmegaConf

    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value, resolve=True)
    if isinstance(value, str):
        component, base = registry.resolve(value)
        if fields is None or dataclasses.is_dataclass(fields):
            return fields if dataclasses.is_dataclass(fields) else base
        value = {**to_dict(base), **dict(OmegaConf.to_container(fields) if OmegaConf.is_config(fields) else fields)}
    component = registry.component_of(value)
    if component.config is None:
        return value
    try:
        own = config_of(component.config, value)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    named = named_config_class(component.config, component.name)
    return named(**{f.name: getattr(own, f.name) for f in dataclasses.fields(component.config)})
