"""The bridge between the registries and Hydra (override strings themselves: :mod:`olmo_core.overrides`).

After plugins load, every registered component configuration is stored in Hydra's ConfigStore under the
group of its kind, ``olmo/<package>/<kind>`` (``olmo/model``, ``olmo/optim``, ``olmo/data/tagger``,
``olmo/train/backend``, ``olmo/eval/task``, ``olmo/adapt/method`` ...; the plural, ``olmo/data/taggers``, for
fields that select several), and every command's config dataclass becomes a primary config whose defaults
list selects, for each component field, an option of that group packaged at the field's key
(``olmo/train/backend@backend: single``). Users write the key (``backend=fsdp``, ``stages.pretrain.optim=sgd``);
the bridge turns it into the group override Hydra expects. Overrides are checked against the
registries and the schema before Hydra runs, so that a mistake is reported in one line that names it.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from hydra import initialize
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.types import Override
from hydra.errors import ConfigCompositionException, HydraException, MissingConfigException
from hydra.types import RunMode
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from omegaconf.errors import MissingMandatoryValue, OmegaConfBaseException

from olmo_core.config import NAME_KEY, ComponentField, check_bounds, component_fields, preset_defaults, preset_fields
from olmo_core.errors import ConfigError, UnknownComponentError, did_you_mean, install_command
from olmo_core.kinds import get_kind
from olmo_core.overrides import parse_overrides
from olmo_core.plugins import PluginHost, get_host
from olmo_core.registry import Component

__all__ = ["check_overrides", "compose_command", "compose_for_run", "compose_node", "config_name", "sync_config_store",
           "validate_overrides"]

VERSION_BASE = "1.3"
_MARKER = "olmo_synced"


def command_groups(command: Component, host: PluginHost) -> list[ComponentField]:
    """The config groups of ``command``: its component fields, and for a field that selects several
    components (``stages``, ``taggers`` ...) the component fields of each option's own config, as nested
    groups (``stages/pretrain/optim``, packaged at ``stages.pretrain.optim``), at any depth."""
    return _groups(command.config, (), host) if command.config is not None else []


def _groups(cls: type, prefix: tuple[str, ...], host: PluginHost) -> list[ComponentField]:
    found: list[ComponentField] = []
    for f in component_fields(cls):
        path = prefix + f.path
        found.append(ComponentField(path, f.kind, f.default, f.many, f.providers))
        if not f.many:
            continue
        registry = host.registry(f.kind)
        for option in registry.options():
            component, _ = registry.resolve(option)
            if component.config is not None:
                found += _groups(component.config, path + (option,), host)
    return found


def config_name(command: Component) -> str:
    """The ConfigStore name of a command's primary config (``olmo_data_tag`` for ``olmo data tag``)."""
    return "olmo_" + command.name.replace(" ", "_").replace("-", "_")


def _store(cs: ConfigStore, name: str, node: Any, group: str | None = None) -> None:
    cs.store(name=name, node=node, group=group, provider="olmo")


def hydra_group(f: ComponentField) -> str:
    """The Hydra config group whose options ``f`` selects: its kind's (``olmo/data/tagger``), plural when it
    selects several. Groups live under ``olmo/`` so that no group shadows a command's own key (``data=``)."""
    group = f"olmo/{get_kind(f.kind).group}"
    return f"{group}s" if f.many else group


def _entry(f: ComponentField) -> str:
    """The defaults-list key of ``f``: its kind's group, packaged at the field's key."""
    return f"{hydra_group(f)}@{f.key}"


def _structured(config: Any) -> DictConfig:
    """A config dataclass (or instance) as an OmegaConf node whose ``dict``-typed fields accept new keys, so
    that ``mixer.proportions={c4: 0.5}`` works while every other key stays checked."""
    node = OmegaConf.structured(config)
    _open_dicts(node)
    return node


def _open_dicts(node: DictConfig) -> None:
    for key in node:
        child = node._get_node(key)
        if isinstance(child, DictConfig):
            if OmegaConf.get_type(child) is dict:
                OmegaConf.set_struct(child, False)
            else:
                _open_dicts(child)


def _synced(cs: ConfigStore, marker: str) -> tuple[int, int] | None:
    try:
        node = cs.load(f"{marker}.yaml").node
    except HydraException:
        return None
    return int(node.serial), int(node.generation)


def sync_config_store(command: Component, host: PluginHost | None = None) -> None:
    """Put ``command``'s config, and the configs of the components its fields select, into Hydra's ConfigStore
    (once per command and plugin set).

    Only the command at hand is stored: Hydra copies the whole store at every composition, so a store holding
    every command's configs made each composition several times slower. Entries are only ever stored, never
    removed: a component that a plugin no longer registers may linger in the store, but no override reaches it,
    since every component name is checked against the registries first (:func:`validate_overrides`).
    """
    host = host or get_host()
    cs = ConfigStore.instance()
    name = config_name(command)
    marker = f"{_MARKER}_{name}"
    if _synced(cs, marker) == (host.serial, host.generation):
        return
    defaults: list[Any] = []
    if command.config is not None:
        _store(cs, f"{name}_schema", _structured(command.config))
        defaults.append(f"{name}_schema")
        stored: set[str] = set()
        many = [f for f in command_groups(command, host) if f.many]
        for f in command_groups(command, host):
            if hydra_group(f) not in stored:
                stored.add(hydra_group(f))
                _store_group(cs, host, f)
            available = [option for option in f.defaults if option in host.registry(f.kind)]
            chosen: Any = available if f.many else (available[0] if available else None)
            defaults.append({_entry(f): chosen or None})
        for field, options in preset_fields(command.config).items():
            for option, file in options.items():
                cs.store(name=option, node=_preset_node(OmegaConf.load(file), many), group=_preset_group(field),
                         package="_global_", provider="olmo")
            defaults.append({_preset_group(field): preset_defaults(command.config)[field]})
    defaults += ["_self_", {"override hydra/job_logging": "none"}, {"override hydra/hydra_logging": "none"}]
    _store(cs, name, {"defaults": defaults,
                      "hydra": {"run": {"dir": "."}, "output_subdir": None, "job": {"name": name},
                                "sweep": {"dir": "multirun/${now:%Y-%m-%d}/${now:%H-%M-%S}"}}})
    _store(cs, marker, {"serial": host.serial, "generation": host.generation})


def _preset_node(node: DictConfig, many: Sequence[ComponentField]) -> DictConfig:
    """A preset as Hydra composes it: a list given to a field that selects several components
    (``downstream: {tasks: [copa, sciq]}``) becomes the selection of its group, an ``override`` entry of the
    preset's defaults list, as ``tasks=[copa,sciq]`` does on the command line (the field's value is a mapping
    of the selected names to their options, into which a list cannot merge)."""
    selections = []
    for f in many:
        parent, _, leaf = f.key.rpartition(".")
        holder = OmegaConf.select(node, parent) if parent else node
        if isinstance(holder, DictConfig) and isinstance(holder.get(leaf), ListConfig):
            selections.append({f"override /{_entry(f)}": [str(name) for name in holder[leaf]]})
            del holder[leaf]
    if selections:
        defaults = list(node.get("defaults") or [])
        at = defaults.index("_self_") if "_self_" in defaults else len(defaults)
        node.defaults = defaults[:at] + selections + defaults[at:]
    return node


def _preset_group(field: str) -> str:
    """The Hydra config group of a preset field's options (``olmo/pipeline`` for ``pipeline=smoke``)."""
    return f"olmo/{field}"


def _store_group(cs: ConfigStore, host: PluginHost, f: ComponentField) -> None:
    registry = host.registry(f.kind)
    for option in registry.options():
        _, node = registry.resolve(option)
        structured = _structured(node) if node is not None else OmegaConf.create({NAME_KEY: option})
        _store(cs, option, OmegaConf.create({option: structured}) if f.many else structured, group=hydra_group(f))


def _values(override: Override) -> list[Any]:
    return list(override.sweep_iterator()) if override.is_sweep_override() else [override.value()]


def normalize_overrides(command: Component, overrides: Sequence[str], host: PluginHost | None = None) -> list[str]:
    """Overrides as Hydra understands them: a preset (``pipeline=smoke``) becomes the selection of its group
    (``olmo/pipeline=smoke``); a component field's key (``backend=fsdp``,
    ``stages.pretrain.optim=sgd``, also written with ``/``) becomes the override of its group entry
    (``train/backend@backend=fsdp``), ``key=[]`` for a field that selects several becomes ``~entry``, and
    ``+key=[c]`` for such a field becomes the whole selection it makes: the one the overrides before it (a preset
    included) compose, with ``c`` added at its end."""
    host = host or get_host()
    fields = {f.key: f for f in command_groups(command, host)}
    presets = set(preset_fields(command.config)) if command.config else set()
    normalized = []
    for i, text in enumerate(overrides):
        key, sep, value = text.partition("=")
        prefix = key[:len(key) - len(key.lstrip("~+"))]
        f = fields.get(key.lstrip("~+").replace("/", "."))
        if f is not None and f.many and sep and "{" in value.replace("${", ""):
            raise ConfigError(f"{key}={value}: {f.key} selects with a list of names ({f.key}=[a,b]); set a selected "
                              f"one's options under its name ({f.key}.<name>.<option>=<value>)")
        if key in presets and sep:
            normalized.append(f"{_preset_group(key)}={value}")
        elif f is not None and f.many and prefix == "~" and not sep:
            normalized.append(f"{_entry(f)}=[]")
        elif f is not None and f.many and prefix == "+" and sep:
            normalized.append(f"{_entry(f)}={_added(command, f, value, overrides[:i], host)}")
        elif f is not None and (sep or prefix == "~"):
            normalized.append(f"{prefix}{_entry(f)}{sep}{value}")
        else:
            normalized.append(text)
    return normalized


def _added(command: Component, f: ComponentField, value: str, before: Sequence[str], host: PluginHost) -> str:
    """``+key=[c,d]`` for the field ``f`` that selects several components: the selection that ``before`` composes,
    then ``c`` and ``d`` (those not selected already), as one list."""
    from hydra.core.global_hydra import GlobalHydra

    added = [name.strip() for name in value.strip().removeprefix("[").removesuffix("]").split(",") if name.strip()]
    if not value.strip().startswith("[") or "[" in value.strip()[1:] or any(c in value for c in "(){}"):
        raise ConfigError(f"+{f.key}={value}: adds one list of names ({'+' + f.key}=[a,b]); to sweep, give whole "
                          f"selections ({f.key}=[a,b],[a,c])")
    cfg = (_compose(command, before, host, run=False) if GlobalHydra.instance().is_initialized()
           else compose_node(command, before, host=host))
    node = OmegaConf.select(cfg, f.key) or {}
    chosen = _selected(node)
    return "[" + ",".join([*chosen, *(name for name in added if name not in chosen)]) + "]"


def validate_overrides(command: Component, overrides: Sequence[str], host: PluginHost | None = None) -> list[str]:
    """Check ``overrides`` of ``command``, each sweep value included, before anything runs.

    Returns the overrides as Hydra should receive them (see :func:`normalize_overrides`). Raises
    :class:`UnknownComponentError` for a component name that is not registered, and :class:`ConfigError`
    for an unknown key or a value of the wrong type.
    """
    host = host or get_host()
    overrides, parsed = _check_overrides(command, overrides, host)
    for variant in _variants(parsed):
        compose_node(command, variant, host=host)
    return overrides


def check_overrides(command: Component, overrides: Sequence[str], host: PluginHost | None = None) -> list[str]:
    """:func:`validate_overrides` short of composing the config: the component names, presets and default
    components that ``overrides`` select are checked against the registries. A run that composes the config
    next (:func:`compose_for_run`) reports there what composing finds (an unknown key, a wrong type)."""
    return _check_overrides(command, overrides, host or get_host())[0]


def _check_overrides(command: Component, overrides: Sequence[str],
                     host: PluginHost) -> tuple[list[str], list[Override]]:
    fields = {_entry(f): f for f in command_groups(command, host)}
    overrides = normalize_overrides(command, overrides, host)
    parsed = parse_overrides(overrides)
    sync_config_store(command, host)
    chosen = {_override_entry(ov) for ov in parsed}
    for entry, f in fields.items():
        absent = [name for name in f.defaults if name not in host.registry(f.kind)]
        if entry not in chosen and absent and len(f.path) == 1:
            raise _missing_defaults(command, f, absent, host)
    presets = {_preset_group(field): (field, options) for field, options in preset_fields(command.config).items()} \
        if command.config else {}
    for ov in parsed:
        if ov.key_or_group in presets:
            field, options = presets[ov.key_or_group]
            for value in _values(ov):
                if str(value) not in options:
                    raise UnknownComponentError(f"{field} preset", str(value), options)
            continue
        f = fields.get(_override_entry(ov))
        if f is None:
            continue
        registry = host.registry(f.kind)
        for value in _values(ov):
            for name in (value if isinstance(value, list) else [value]):
                if value is not None and str(name) not in registry:
                    raise UnknownComponentError(registry.kind.singular, str(name), registry.options())
            if isinstance(value, list) and len(set(map(str, value))) < len(value):
                twice = sorted({str(name) for name in value if list(map(str, value)).count(str(name)) > 1})
                raise ConfigError(f"{f.key}={_listed(value)} names {', '.join(map(repr, twice))} more than once: each "
                                  f"{registry.kind.singular} runs once (with its options under {f.key}.<name>)")
    return overrides, parsed


def _listed(values: list[Any]) -> str:
    return "[" + ",".join(map(str, values)) + "]"


def _override_entry(ov: Override) -> str:
    return f"{ov.key_or_group}@{ov.package}" if ov.package else ov.key_or_group


def _missing_defaults(command: Component, f: ComponentField, absent: list[str], host: PluginHost) -> ConfigError:
    kind = host.registry(f.kind).kind.singular
    wanted = ", ".join(f"'{name}'" for name in absent)
    dists = sorted({f.providers[name] for name in absent if name in f.providers})
    if dists:
        installed = [d for d in dists if _installed(d)]
        if installed:
            how = f"the installed {', '.join(installed)} does not register it; upgrade it"
        else:
            how = f"install {' '.join(dists)} ({install_command(*dists)})"
    else:
        how = "install the plugin that provides it"
    return ConfigError(f"`olmo {command.name}` uses the {kind} {wanted} by default, which no installed plugin "
                       f"registers: {how}, or choose others with {f.key}=...")


def _installed(distribution: str) -> bool:
    import importlib.metadata

    try:
        importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _variants(parsed: list[Override]) -> list[list[str]]:
    """One override list per sweep value (the other sweeps at their first value), so each value composes once."""
    def pick(ov: Override, value: str) -> str:
        return f"{ov.get_key_element()}={value}"

    sweeps = {i: list(ov.sweep_string_iterator()) for i, ov in enumerate(parsed) if ov.is_sweep_override()}
    base = [pick(ov, sweeps[i][0]) if i in sweeps else str(ov.input_line) for i, ov in enumerate(parsed)]
    variants = [base]
    for i, values in sweeps.items():
        variants += [base[:i] + [pick(parsed[i], value)] + base[i + 1:] for value in values[1:]]
    return variants


def compose_node(command: Component, overrides: Sequence[str] = (), *, host: PluginHost | None = None) -> DictConfig:
    """Compose ``command``'s config with ``overrides`` into an OmegaConf node (required keys may be ``???``),
    its sizes, counts and steps checked (:func:`~olmo_core.config.check_bounds`)."""
    with initialize(version_base=VERSION_BASE, config_path=None):
        return _compose(command, overrides, host, run=False)


def compose_for_run(command: Component, overrides: Sequence[str] = (), *,
                    host: PluginHost | None = None) -> DictConfig:
    """Compose ``command``'s config as Hydra's own run does, with Hydra initialized (``hydra.initialize``):
    Hydra's ``hydra`` node kept and Hydra's logging configured from it; errors and checks as
    :func:`compose_node`'s. The result is ready for ``hydra.core.utils.run_job``, so that a run composes its
    config once instead of once to validate it and twice more in ``hydra.main``."""
    return _compose(command, overrides, host, run=True)


def _compose(command: Component, overrides: Sequence[str], host: PluginHost | None, *, run: bool) -> DictConfig:
    sync_config_store(command, host)
    overrides = normalize_overrides(command, overrides, host)
    try:
        cfg = _hydra_compose(command, overrides, run=run)
        _check_added_keys(command, overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise _explain(command, list(overrides), exc) from exc
    _check_selected(cfg, overrides)
    check_bounds(cfg, skip=("hydra",))
    return cfg


def _hydra_compose(command: Component, overrides: Sequence[str], *, run: bool, keep_hydra: bool = False) -> DictConfig:
    """``hydra.compose``'s composition, by the initialized Hydra; with ``run``, Hydra's ``hydra`` node is kept and
    Hydra's logging configured from it, as Hydra's run composes (its error messages stay ``hydra.compose``'s); with
    ``keep_hydra``, the node is kept alone."""
    hydra = GlobalHydra.instance().hydra
    assert hydra is not None, "Hydra is not initialized"
    cfg = hydra.compose_config(config_name(command), list(overrides), run_mode=RunMode.RUN, from_shell=False,
                               with_log_configuration=run)
    if not (run or keep_hydra) and "hydra" in cfg:
        with open_dict(cfg):
            del cfg["hydra"]
    return cfg


def compose_command(command: Component, overrides: Sequence[str] = (), *, host: PluginHost | None = None) -> Any:
    """Compose ``command``'s config with ``overrides`` and return it as the command's dataclass instance."""
    return to_command_config(command, compose_node(command, overrides, host=host))


def to_command_config(command: Component, cfg: DictConfig) -> Any:
    """The composed ``cfg`` as an instance of the command's config dataclass."""
    if command.config is None:
        return None
    try:
        config = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(command.config), cfg))
    except MissingMandatoryValue as exc:
        key = exc.full_key.removesuffix("[0]")  # a list input's first item
        hint = getattr(command.config, "input_hints", {}).get(key, f"{key}=...")  # a job's inputs (job_command)
        raise ConfigError(f"`olmo {command.name}` needs a value for '{key}': add {hint}") from exc
    except OmegaConfBaseException as exc:
        raise ConfigError(f"invalid config for `olmo {command.name}`: {str(exc).splitlines()[0]}") from exc
    _drop_unselected(config)
    check_bounds(config)
    return config


def _drop_unselected(config: Any) -> None:
    """Drop the entries that options nobody selected left in multi-select fields, at every depth: the
    defaults of their nested groups, or a preset's values for them (entries without ``_name_``)."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        return
    for f in component_fields(type(config)):
        value = getattr(config, f.path[0]) if len(f.path) == 1 else None
        if f.many and isinstance(value, dict):
            value = {k: v for k, v in value.items() if _named(v)}
            setattr(config, f.path[0], value)
            for option in value.values():
                _drop_unselected(option)
        elif len(f.path) == 1:
            _drop_unselected(value)


def drop_unselected_nodes(cfg: DictConfig) -> DictConfig:
    """:func:`to_command_config`'s dropping of unselected options (see :func:`_drop_unselected`), done on the
    composed node itself, whose required keys may still be ``???``: what ``--cfg job`` prints is then what the
    run builds. Returns ``cfg``, changed in place."""
    schema = OmegaConf.get_type(cfg)
    if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
        return cfg
    for f in component_fields(schema):
        node = OmegaConf.select(cfg, ".".join(f.path), throw_on_missing=False)
        if not isinstance(node, DictConfig) or node._is_missing() or node._is_none():
            continue
        options = [node]
        if f.many:
            chosen = _selected(node)
            with open_dict(node):
                for name in [str(k) for k in node if str(k) not in chosen]:
                    del node[name]
            options = [node[k] for k in chosen if isinstance(node[k], DictConfig)]
        for option in options:
            drop_unselected_nodes(option)
    return cfg


def _selected(node: Any) -> list[str]:
    """The options a multi-select field's composed ``node`` selects, in order: those with a ``_name_`` (the others
    are the defaults of options nobody selected)."""
    return [str(name) for name in node if OmegaConf.select(node, f"{name}.{NAME_KEY}") is not None]


def _named(value: Any) -> bool:
    return (value.get(NAME_KEY) if isinstance(value, dict) else getattr(value, NAME_KEY, None)) is not None


def _explain(command: Component, overrides: list[str], exc: Exception) -> Exception:
    """The one-line :class:`ConfigError` for a failed composition: an unknown key names the valid keys at its
    place in the config as the user's selections compose it, with the closest one suggested."""
    cause = exc.__cause__
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    match = re.search(r"Could not (?:override|append to|delete from) '([^']+)'", str(exc))
    if match:
        key = match.group(1)
        error = _unknown_key(command, key, _shape(command, overrides, keep_hydra=key.startswith("hydra.")))
        if key.startswith("hydra.launcher.") and not any(o.partition("=")[0] == "hydra/launcher" for o in overrides):
            error = ConfigError(f"{error}; the launcher's keys come with its choice: add hydra/launcher=<name> "
                                f"(joblib, submitit_local, submitit_slurm, ...)")
        return error
    if isinstance(exc, ConfigCompositionException) and cause is not None:
        override = re.search(r"Error merging override (.+)$", first)
        detail = str(cause).strip().splitlines()[0]
        if override:
            text = override.group(1)
            key, _, value = text.partition("=")
            if "is not a ListConfig" in detail:  # one value where a list is wanted
                return ConfigError(f"invalid value in override '{text}': {key} takes a list, as in {key}=[{value}]")
            return ConfigError(f"invalid value in override '{text}': {detail}")
        return ConfigError(f"{first}: {detail}")
    if isinstance(exc, MissingConfigException):
        return ConfigError(first.replace("In 'olmo_", "In '").strip())
    return ConfigError(f"cannot compose the config of `olmo {command.name}`: {first}")


def _unknown_key(command: Component, key: str, cfg: DictConfig | None) -> ConfigError:
    """The error for ``key``, which the config ``cfg`` (composed without it) lacks: the valid keys at its place,
    with the closest one suggested."""
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent and cfg is not None else cfg
    siblings = sorted(str(k) for k in node.keys() if k != NAME_KEY) if isinstance(node, DictConfig) else []
    where = f" under '{parent}'" if parent else ""
    listing = ", ".join(siblings) if siblings else "none"
    hint = did_you_mean(leaf, siblings)
    if not hint and (deeper := _paths_ending(node, parent, leaf)[:3]):
        hint = " (did you mean " + " or ".join(f"'{p}'" for p in deeper) + "?)"
    return ConfigError(f"unknown config key '{key}' for `olmo {command.name}`{hint}; valid keys{where}: {listing}")


def _check_added_keys(command: Component, overrides: Sequence[str]) -> None:
    """Refuse ``+key=value`` (or ``++``) for a key that the config's schema lacks (``+min_wrods=3``): Hydra adds
    it and the command ignores it. Keys added under a field that holds any keys (``+mixer.proportions.c4=0.5``)
    are kept."""
    for text in overrides:
        key = text.partition("=")[0]
        if not key.startswith("+") or "/" in key or "@" in key:
            continue
        key = key.lstrip("+")
        shape = _hydra_compose(command, [o for o in overrides if o is not text], run=False)
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(shape, parent) if parent else shape
        if isinstance(node, DictConfig) and dataclasses.is_dataclass(OmegaConf.get_type(node)) and leaf not in node:
            raise _unknown_key(command, key, shape)


def _check_selected(cfg: DictConfig, overrides: Sequence[str]) -> None:
    """Refuse an override of an option of a list's component that the list does not select
    (``callbacks=[metrics] callbacks.evaluate.interval=5``): the run drops that component, so the value would be
    ignored, a misspelled key with it."""
    for text in overrides:
        key = text.partition("=")[0]
        if not key or key.startswith(("~", "hydra.")) or "/" in key or "@" in key:
            continue
        if (found := _unselected(cfg, key.lstrip("+").split("."))) is not None:
            field_path, option, chosen = found
            listed = ", ".join(chosen) or "none"
            raise ConfigError(f"{key.lstrip('+')} sets an option of '{option}', which {field_path} does not select "
                              f"(it holds: {listed}): add it (+{field_path}=[{option}]) or leave the option out")


def _unselected(cfg: DictConfig, parts: list[str]) -> tuple[str, str, list[str]] | None:
    """``(field path, option, selected options)`` when ``parts`` (a key's parts) go through an option that a
    multi-select field of a config in ``cfg`` does not select; ``None`` otherwise."""
    node: Any = cfg
    i = 0
    while i < len(parts) - 2:  # the option's name is the part after its field's; its nested fields' below it
        part = parts[i]
        schema = OmegaConf.get_type(node) if isinstance(node, DictConfig) else None
        if not (isinstance(schema, type) and dataclasses.is_dataclass(schema)):
            return None
        many = {f.path[0] for f in component_fields(schema) if f.many and len(f.path) == 1}
        child = node.get(part) if isinstance(node, DictConfig) else None
        if part in many and isinstance(child, DictConfig):
            option = parts[i + 1]
            if option in child and option not in (chosen := _selected(child)):
                return ".".join(parts[:i + 1]), option, chosen
            node, i = child.get(option), i + 2
            continue
        node, i = child, i + 1
    return None


def _paths_ending(node: Any, parent: str, leaf: str) -> list[str]:
    """Full keys below ``node`` (the config at ``parent``) deeper than its own level whose last part is ``leaf``
    (``max_steps`` finds ``method.max_steps``), so that a key given at the wrong level suggests where it belongs."""
    found: list[str] = []

    def walk(node: Any, path: str) -> None:
        for name, child in node.items_ex(resolve=False) if isinstance(node, DictConfig) else ():
            here = f"{path}.{name}" if path else str(name)
            if name == leaf and path != parent:
                found.append(here)
            walk(child, here)
    walk(node, parent)
    return found


def _shape(command: Component, overrides: Sequence[str], *, keep_hydra: bool = False) -> DictConfig | None:
    """The command's config composed with the selections among ``overrides`` (or the defaults alone), by the
    initialized Hydra that failed to compose them all; with ``keep_hydra``, Hydra's own ``hydra`` node too (the
    launcher's keys)."""
    selections = [text for text in overrides if "/" in text.partition("=")[0]]
    for attempt in ([selections] if selections else []) + [[]]:
        try:
            return _hydra_compose(command, attempt, run=False, keep_hydra=keep_hydra)
        except (HydraException, OmegaConfBaseException):
            continue
    return None
