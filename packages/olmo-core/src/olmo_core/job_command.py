"""The command face of a job: ``olmo <job's command> <input>=<path> ... [output=<dir>] key=value ...``.

For every registered job with a ``command``, the host registers a command whose config is the job's own
config plus one key per input slot (a path, or a list of paths for a ``many`` slot) and ``output=`` (the
work directory; a job that adds to a dataset in place has a default). In a sweep (``-m``), each job of the
sweep keeps its record in its own sub-directory of ``output``, ``<output>/<swept values>``, and its data
where :func:`olmo_core.sweeps.data_output` says (shared by the shards of a shard sweep, else its own); after
each job of a sweep that varies more than ``shard``, ``<output>/comparison.md`` compares the finished and failed
jobs (:func:`olmo_core.sweeps.write_sweep_comparison`).
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import os
import re
from typing import TYPE_CHECKING, Any

from olmo_core.config import REQUIRED, config_of
from olmo_core.errors import ConfigError, PluginError
from olmo_core.jobs import Job, execute
from olmo_core.kinds import KINDS
from olmo_core.registry import Component

if TYPE_CHECKING:
    from olmo_core.sweeps import SweepJob

log = logging.getLogger(__name__)

__all__ = ["OUTPUT", "PreparedJob", "face_name", "job_command", "prepare_job", "run_prepared", "sweep_job_dir"]

OUTPUT = "output"


def _face_fields(name: str, job: type[Job], config: type | None) -> list[tuple[str, Any, Any]]:
    taken = {f.name for f in dataclasses.fields(config)} if config is not None else set()
    fields: list[tuple[str, Any, Any]] = []
    for slot_name, slot in job.inputs.items():
        if slot_name in taken or slot_name == OUTPUT:
            raise PluginError(f"job '{name}': input '{slot_name}' is also a field of its config "
                              f"{config.__qualname__ if config else ''}; rename one")
        if slot.many:
            default = dataclasses.field(default_factory=list if slot.optional else lambda: [REQUIRED])
            fields.append((slot_name, list[str], default))
        else:
            fields.append((slot_name, str | None, dataclasses.field(default=None if slot.optional else REQUIRED)))
    if OUTPUT in taken:
        raise PluginError(f"job '{name}': its config may not define '{OUTPUT}' (the command adds it)")
    fields.append((OUTPUT, str | None, dataclasses.field(default=None)))
    return fields


def _placeholder(slot: Any) -> str:
    """``<token arrays dir>``, or ``[<token arrays dir>]`` for a ``many`` slot: what a missing input asks for."""
    one = f"<{slot.type.kind.replace('_', ' ')} dir>"
    return f"[{one}]" if slot.many else one


def sweep_job_dir(base: str) -> str:
    """``base``, or inside a Hydra sweep ``base/<swept values>``, so that jobs never share it
    (:func:`olmo_core.sweeps.job_dir`)."""
    from olmo_core.sweeps import job_dir

    return job_dir(base)


@dataclasses.dataclass(frozen=True)
class PreparedJob:
    """A registered job made ready to run from its command's config (:func:`prepare_job`)."""

    job: Job
    """The job instance (which keeps what its check built for its run)."""
    config: Any
    """The job's own config (``None`` for a job without one)."""
    inputs: dict[str, Any]
    """The input artifacts by slot (a list for a ``many`` slot)."""
    output: str
    """The command's ``output=`` (or the job's default): its work directory, or a sweep's, whose jobs run in
    directories under it (:func:`sweep_job_dir`)."""
    name: str
    """The job's registered name."""


def prepare_job(component: Component, config: Any) -> PreparedJob:
    """The registered job ``component`` ready to run from ``config``, its command's config: a new instance, its own
    config, the artifacts its input paths name and its output (refused when it has none)."""
    job_class: type[Job] = component.factory  # type: ignore[assignment]
    inputs: dict[str, Any] = {}
    for name, slot in job_class.inputs.items():  # paths (a list of paths for a ``many`` slot) to artifacts
        value = getattr(config, name)
        paths = [value] if isinstance(value, str) else list(value or [])
        inputs[name] = [slot.type(path=str(p)) for p in paths] if slot.many else \
            (slot.type(path=str(value)) if value is not None else None)
    job = job_class()
    own = config_of(component.config, config) if component.config is not None else None
    output = config.output or job.default_workdir(own, inputs)
    if output is None:
        raise ConfigError(f"`olmo {job_class.command}` needs {OUTPUT}=<directory> for what it writes")
    return PreparedJob(job=job, config=own, inputs=inputs, output=str(output), name=component.name)


def run_prepared(prepared: PreparedJob, *, checked: bool = False) -> dict[str, Any]:
    """Run a prepared job as its command does: in its work directory (in a sweep, its own under the output); its
    metrics. ``checked``: it passed its check already (:func:`olmo_core.jobs.check_job`) in that directory."""
    if prepared.output.startswith("memory://"):
        log.warning(f"{OUTPUT}={prepared.output} is held in this process's memory: it is gone when the command ends "
                    f"(for Python callers and tests; write to a path or an object store to keep it)")
    return _execute(prepared, checked)


def _execute(prepared: PreparedJob, checked: bool) -> dict[str, Any]:
    """Run the prepared job in its work directory under its output; in a sweep, keep its swept values beside its
    result (or its error, when it fails) and, unless the sweep varies nothing but ``shard``, compare the sweep's
    finished and failed jobs in the output."""
    from olmo_core.sweeps import current, job_dir

    base = prepared.output
    sweep, workdir = current(), job_dir(base)
    main = os.environ.get("RANK", "0") == "0"
    try:
        metrics = execute(prepared.job, prepared.config, prepared.inputs, workdir, name=prepared.name,
                          checked=checked).metrics
    except Exception as exc:
        if sweep is not None and main:
            _record(sweep, workdir, base, str(exc))
        raise
    if sweep is not None and main:
        _record(sweep, workdir, base)
    return metrics


def _record(sweep: SweepJob, workdir: str, base: str, error: str | None = None) -> None:
    """Keep the sweep job ``sweep``'s values (and ``error``) in ``workdir`` and, unless the sweep varies nothing
    but ``shard``, compare the sweep's ended jobs in ``base``."""
    from olmo_core.sweeps import record_job, write_sweep_comparison

    record_job(workdir, sweep, error)
    if not sweep.shards_only and (comparison := write_sweep_comparison(base)) is not None:
        log.info("sweep comparison: %s", comparison)


def face_name(job: str) -> str:
    """The name of the command config class of the job ``job``, importable from this module."""
    return "Command_" + re.sub(r"\W", "_", job)


def __getattr__(name: str) -> Any:
    """The command config classes by :func:`face_name`, so that they pickle by reference, like any importable
    class, to the processes of a sweep launcher (which build the same plugin host)."""
    import olmo_core

    if name.startswith("Command_"):
        for command in olmo_core.get_host().registry("commands"):
            if command.config is not None and command.config.__module__ == __name__ and command.config.__name__ == name:
                return command.config
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def job_command(component: Component) -> Component:
    """The ``olmo`` command that runs the registered job ``component`` on paths."""
    job_class: type[Job] = component.factory  # type: ignore[assignment]
    config_class = component.config
    face = dataclasses.make_dataclass(
        face_name(component.name), _face_fields(component.name, job_class, config_class),
        bases=(config_class,) if config_class else (), kw_only=True,
        namespace={"__doc__": f"Options of ``olmo {job_class.command}``.", "__module__": __name__,
                   "input_hints": {name: f"{name}={_placeholder(slot)}" for name, slot in job_class.inputs.items()}})

    def run(config: Any) -> dict[str, Any]:
        return run_prepared(prepare_job(component, config))

    run.__doc__ = inspect.getdoc(job_class.run) if job_class.__doc__ is None else inspect.getdoc(job_class)
    run.__name__ = f"{component.name}_command"
    return Component(kind=KINDS["commands"], name=job_class.command, factory=run, config=face, help=component.help,
                     plugin=component.plugin, distribution=component.distribution)
