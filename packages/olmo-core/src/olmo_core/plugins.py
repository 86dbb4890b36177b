"""The plugin host: loads plugins, checks them against the hook specs, and fills the registries.

Plugins come from three places, in this order:

1. every entry point of the ``olmo`` group in every installed distribution (first-party packages too),
   except those named in ``OLMO_DISABLE_PLUGINS`` (comma-separated plugin or distribution names; ``*``
   disables every entry point);
2. the modules named in ``OLMO_PLUGINS`` (comma-separated import paths), for unpackaged research code;
3. objects registered at run time with :meth:`PluginHost.register` (tests, notebooks).

A plugin that fails to import, implements a hook that does not exist, breaks a hook's signature or fails in a
registration hook (raises, registers a taken name or a config that cannot be made from its defaults or held by
OmegaConf) stops the host with a :class:`~olmo_core.errors.PluginError` naming the plugin, its distribution
and version; within :func:`keeping_broken_plugins` (``olmo --help``, ``olmo plugins``) it is left out whole
and listed in :attr:`PluginHost.broken` instead. The registries of every kind are filled together, on first
use, so that this happens whichever kind a command needs.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pluggy

from olmo_core import hookspecs
from olmo_core.errors import OlmoError, PluginError, did_you_mean
from olmo_core.kinds import KINDS, get_kind
from olmo_core.registry import Registry, make_register

__all__ = ["PluginHost", "PluginInfo", "get_host", "hookimpl", "keeping_broken_plugins", "reset_host", "set_host"]

ENTRY_POINT_GROUP = "olmo"
_serials = itertools.count()
hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT_NAME)


@dataclass(frozen=True, kw_only=True)
class PluginInfo:
    """A loaded plugin and where it came from."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    source: str = "registered"
    plugin: Any = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        """``olmo-data 0.1.0``, or the source when the plugin comes from no distribution."""
        if self.distribution:
            return f"{self.distribution} {self.version}"
        return f"from {self.source}"


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _entry_points() -> Iterator[tuple[importlib.metadata.EntryPoint, importlib.metadata.Distribution]]:
    seen: set[tuple[str, str]] = set()
    for dist in importlib.metadata.distributions():
        for ep in dist.entry_points:
            if ep.group == ENTRY_POINT_GROUP and (ep.name, ep.value) not in seen:
                seen.add((ep.name, ep.value))
                yield ep, dist


_HINTS = {"entry point": "disable it with OLMO_DISABLE_PLUGINS={name}",
          "OLMO_PLUGINS": "remove it from OLMO_PLUGINS"}
"""How to run olmo without a broken plugin, by where it came from."""


def _hinted(error: OlmoError, info: PluginInfo | None) -> OlmoError:
    """``error`` about the plugin ``info`` with how to run olmo without that plugin (:data:`_HINTS`, by where it came
    from) added, unless it says so already; ``error`` itself for a built-in or when it does."""
    hint = _HINTS.get(info.source, "").format(name=info.name) if info is not None else ""
    if not hint or hint in str(error) or "OLMO_DISABLE_PLUGINS" in str(error):
        return error
    try:
        hinted = type(error)(f"{error}; {hint}")
    except TypeError:  # an error class made from other arguments than its message
        hinted = PluginError(f"{error}; {hint}")
    hinted.__cause__ = error.__cause__
    return hinted


class PluginHost:
    """A pluggy manager with olmo's loading policy, plugin bookkeeping and registries.

    With ``keep_broken``, a plugin that fails to load or to register is left out and its error kept in
    :attr:`broken` (plugin name to message) instead of raised.
    """

    def __init__(self, *, autoload: bool = True, modules: tuple[str, ...] | None = None,
                 disabled: tuple[str, ...] | None = None, keep_broken: bool = False) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.keep_broken = keep_broken
        self.broken: dict[str, str] = {}
        self.serial = next(_serials)
        self.generation = 0
        self._registries: dict[str, Registry] = {}
        disabled = tuple(_env_list("OLMO_DISABLE_PLUGINS")) if disabled is None else disabled
        if autoload and "*" not in disabled:
            self._load_entry_points(set(disabled))
        for module in _env_list("OLMO_PLUGINS") if modules is None else modules:
            self._load_module(module)
        self.pm.check_pending()

    def _load_entry_points(self, disabled: set[str]) -> None:
        for ep, dist in _entry_points():
            dist_name = dist.metadata["Name"]
            if ep.name in disabled or dist_name in disabled:
                continue
            where = f"plugin '{ep.name}' ({dist_name} {dist.version})"
            try:
                plugin = ep.load()
            except Exception as exc:
                self._broken(ep.name, PluginError(f"{where} failed to import: {type(exc).__name__}: {exc}; "
                                                  f"{_HINTS['entry point'].format(name=ep.name)}"), exc)
                continue
            self._add(plugin, PluginInfo(name=ep.name, module=ep.value, distribution=dist_name,
                                         version=dist.version, source="entry point", plugin=plugin))

    def plugin_packages(self) -> list[str]:
        """The top-level packages of the installed plugins' modules (``olmo_filter_example`` for the entry point
        ``olmo_filter_example.plugin``), whose loggers olmo shows as its own."""
        return list(dict.fromkeys(info.module.split(":")[0].split(".")[0] for info in self.plugins.values()
                                  if info.module))

    def _load_module(self, module: str) -> None:
        try:
            plugin = importlib.import_module(module)
        except Exception as exc:
            self._broken(module, PluginError(f"plugin module '{module}' named in OLMO_PLUGINS failed to import: "
                                             f"{type(exc).__name__}: {exc}; {_HINTS['OLMO_PLUGINS']}"), exc)
            return
        self._add(plugin, PluginInfo(name=module, module=module, source="OLMO_PLUGINS", plugin=plugin))

    def _broken(self, name: str, error: OlmoError, cause: BaseException | None = None) -> None:
        """Raise ``error`` about the plugin ``name``, or with ``keep_broken`` keep it in :attr:`broken`."""
        if not self.keep_broken:
            raise error from cause or error.__cause__
        self.broken.setdefault(name, str(error))

    def _add(self, plugin: Any, info: PluginInfo) -> None:
        try:
            self._check_and_register(plugin, info)
        except PluginError as exc:
            self._broken(info.name, _hinted(exc, info))

    def _check_and_register(self, plugin: Any, info: PluginInfo) -> None:
        where = f"plugin '{info.name}' ({info.label})"
        if info.name in self.plugins:
            raise PluginError(f"two plugins are named '{info.name}': {self.plugins[info.name].label} "
                              f"and {info.label}; uninstall or disable one (OLMO_DISABLE_PLUGINS)")
        known = set(self.pm.hook.__dict__)
        for attr in dir(plugin):
            opts = self.pm.parse_hookimpl_opts(plugin, attr)
            hook = (opts or {}).get("specname") or attr  # pluggy's specname= names the hook a function implements
            if opts is not None and hook not in known:
                raise PluginError(f"{where} implements unknown hook '{hook}'{did_you_mean(hook, known)}")
        try:
            self.pm.register(plugin, name=info.name)
        except pluggy.PluginValidationError as exc:
            detail = "; ".join(line.strip() for line in str(exc).splitlines()[1:]) or str(exc)
            raise PluginError(f"{where} does not match the hook specs: {detail}") from exc
        self.plugins[info.name] = info
        self._changed()

    def _changed(self) -> None:
        self._registries.clear()
        self.generation += 1

    def register(self, plugin: Any, name: str | None = None) -> str:
        """Register ``plugin`` (a module, class or instance with hook implementations) at run time."""
        name = name or getattr(plugin, "__name__", None) or f"{type(plugin).__name__}-{id(plugin):x}"
        module = getattr(plugin, "__module__", None) or getattr(plugin, "__name__", name)
        self._add(plugin, PluginInfo(name=name, module=str(module), plugin=plugin))
        return name

    def unregister(self, name: str) -> None:
        """Remove the plugin registered as ``name``."""
        info = self.plugins.pop(name)
        self.pm.unregister(info.plugin, name=name)
        self._changed()

    def hooks_of(self, name: str) -> list[str]:
        """The hooks the plugin ``name`` implements."""
        plugin = self.plugins[name].plugin
        return sorted(h.name for h in self.pm.get_hookcallers(plugin) or ())

    def registry(self, kind: str) -> Registry:
        """The registry of ``kind`` (plural or singular). The first call fills every kind's registry (see
        :meth:`_fill_registries`), so that a plugin whose registration fails in any kind is left out of all."""
        k = get_kind(kind)
        if not self._registries:
            self._fill_registries()
        return self._registries[k.name]

    def _fill_registries(self) -> None:
        """Fill every kind's registry by calling every plugin's registration hooks, the built-ins (trylast)
        first. A plugin that fails in any of them (raises, registers a taken name or a bad config) is broken
        and left out whole: the registries are filled again without it, so that no kind keeps any of its
        components and commands behave the same whichever kinds they build; it is unregistered from the
        plugin manager too (no other hook of it is called) and listed only in :attr:`broken`."""
        left_out: set[str] = set()
        while True:
            registries, failed = self._fill_once(left_out)
            if not failed:
                break
            left_out |= failed
        for name in left_out:
            info = self.plugins.pop(name, None)
            if info is not None:
                self.pm.unregister(info.plugin, name=name)
        self._registries = registries

    def _fill_once(self, left_out: set[str]) -> tuple[dict[str, Registry], set[str]]:
        registries: dict[str, Registry] = {}
        failed: set[str] = set()
        for k in KINDS.values():
            registry = registries[k.name] = Registry(k)
            for impl in getattr(self.pm.hook, k.hook).get_hookimpls():  # the built-ins (trylast) first
                if impl.plugin_name in left_out:
                    continue
                info = self.plugins.get(impl.plugin_name)
                label = info.label if info else "unknown distribution"
                register = make_register(registry, plugin=impl.plugin_name, distribution=label)
                try:
                    with registry.all_or_nothing():
                        impl.function(**{arg: register for arg in impl.argnames})
                except OlmoError as exc:
                    self._broken(impl.plugin_name, _hinted(exc, info))
                    failed.add(impl.plugin_name)
                except Exception as exc:
                    error = PluginError(f"plugin '{impl.plugin_name}' ({label}) failed in {k.hook}: "
                                        f"{type(exc).__name__}: {exc}")
                    self._broken(impl.plugin_name, _hinted(error, info), exc)
                    failed.add(impl.plugin_name)
        failed |= self._add_job_commands(registries["commands"], registries["jobs"], left_out)
        return registries, failed

    def _add_job_commands(self, commands: Registry, jobs: Registry, left_out: set[str]) -> set[str]:
        """Every job with a ``command`` is also that command (:mod:`olmo_core.job_command`); returns the plugins
        whose job's command is taken."""
        from olmo_core.job_command import job_command

        failed: set[str] = set()
        for job in jobs:
            if getattr(job.factory, "command", "") and job.plugin not in left_out | failed:
                try:
                    commands.add(job_command(job))
                except PluginError as exc:
                    self._broken(job.plugin, exc)
                    failed.add(job.plugin)
        return failed

    def describe(self) -> dict[str, Any]:
        """Plugins, versions, hooks and components per kind, as JSON-able data (``olmo plugins --json``)."""
        plugins = [
            {"name": p.name, "module": p.module, "distribution": p.distribution, "version": p.version,
             "source": p.source, "hooks": self.hooks_of(p.name)}
            for p in sorted(self.plugins.values(), key=lambda p: p.name)
        ]
        components: dict[str, list[dict[str, Any]]] = {}
        for kind in KINDS:
            components[kind] = [
                {"name": c.name, "aliases": list(c.aliases), "presets": sorted(c.presets), "help": c.help,
                 "plugin": c.plugin, "distribution": c.distribution,
                 "config": f"{c.config.__module__}.{c.config.__qualname__}" if c.config else None}
                for c in sorted(self.registry(kind), key=lambda c: c.name)
            ]
        broken = [{"name": name, "error": error} for name, error in sorted(self.broken.items())]
        return {"plugins": plugins, "components": components, "broken": broken}


_current: PluginHost | None = None
_keep_broken = False


@contextlib.contextmanager
def keeping_broken_plugins() -> Iterator[None]:
    """Within this block, :func:`get_host` leaves out the plugins that fail to load and lists them in
    :attr:`PluginHost.broken` instead of raising (``olmo --help`` and ``olmo plugins`` work with them)."""
    global _keep_broken
    saved, _keep_broken = _keep_broken, True
    try:
        yield
    finally:
        _keep_broken = saved


def get_host() -> PluginHost:
    """The process-wide plugin host, created on first use (honouring the ``OLMO_*`` variables); a host that
    kept broken plugins is loaded again, strictly, outside :func:`keeping_broken_plugins`."""
    global _current
    if _current is None or (_current.keep_broken and not _keep_broken):
        _current = PluginHost(keep_broken=_keep_broken)
    return _current


def set_host(host: PluginHost | None) -> PluginHost | None:
    """Make ``host`` the process-wide host (``None``: load afresh on next use); return the previous one."""
    global _current
    previous, _current = _current, host
    return previous


def reset_host() -> None:
    """Forget the process-wide host, so that the next :func:`get_host` loads plugins again."""
    set_host(None)
