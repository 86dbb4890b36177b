"""Running a command through Hydra, so that sweeps (``-m``), launchers and ``--cfg`` work as in any Hydra app."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import hydra
from hydra import initialize_config_module
from hydra._internal.callbacks import Callbacks
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import run_job
from hydra.types import HydraContext
from omegaconf import Container, DictConfig, OmegaConf, open_dict

from olmo_core.cli.collector import resume_for_the_job
from olmo_core.errors import ConfigError, OlmoError
from olmo_core.hydra_bridge import (VERSION_BASE, check_overrides, compose_for_run, compose_node, config_name,
                                   drop_unselected_nodes, to_command_config, validate_overrides)
from olmo_core.job_command import PreparedJob, prepare_job, run_prepared, sweep_job_dir
from olmo_core.jobs import check_job
from olmo_core.overrides import parse_overrides
from olmo_core.logs import setup_logging
from olmo_core.plugins import get_host
from olmo_core.registry import Component
from olmo_core.sweeps import SPLITS, SWEEP_ID, swept_overrides

__all__ = ["run_command"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Outcome:
    """How a sweep job that a launcher ran in a process of its own (joblib, submitit) ended: its return value,
    which the launcher hands back to the sweep's process by pickling. A job returns its error rather than raising
    it, which Hydra would report with its traceback; unpickled, it adds itself to :data:`_ELSEWHERE`, for
    :func:`run_command` to report with the sweep's other jobs."""

    num: int
    """Its number in the sweep."""
    label: str
    error: str | None = None
    """The job's error, ``None`` when it succeeded."""
    log: str | None = None
    """The file that the job's output went to (submitit's ``<id>_0_log.err``), ``None`` when it went elsewhere
    (joblib's jobs write where the sweep's process does)."""

    def __reduce__(self) -> tuple[Callable[..., _Outcome], tuple[int, str, str | None, str | None]]:
        return _arrived, (self.num, self.label, self.error, self.log)


_ELSEWHERE: list[_Outcome] = []
"""The outcomes of the jobs run in processes of their own that this process has received."""


def _arrived(num: int, label: str, error: str | None, log: str | None) -> _Outcome:
    """Unpickle an :class:`_Outcome` in the sweep's process, keeping it in :data:`_ELSEWHERE`."""
    outcome = _Outcome(num, label, error, log)
    _ELSEWHERE.append(outcome)
    return outcome


@dataclass(frozen=True)
class _Checked:
    """A job of a sweep whose check passed before the sweep ran (:func:`_check_sweep_jobs`): the prepared job, whose
    instance keeps what its check built for its run (a mix's measured sources), and the work directory it was
    checked in."""

    prepared: PreparedJob
    workdir: str


_CHECKED: dict[tuple[str, ...], _Checked] = {}
"""The checked jobs of the sweep that this process launches, by their overrides (Hydra's ``hydra.overrides.task``);
a job that runs in this process (the basic launcher) takes its own and runs it, not a new one."""


def _stderr_file() -> str | None:
    """The file that this process's stderr goes to, ``None`` when it is no file (a terminal, a pipe)."""
    try:
        return os.readlink("/proc/self/fd/2") if stat.S_ISREG(os.fstat(2).st_mode) else None
    except OSError:  # no /proc (macOS)
        return None


def _full_error() -> bool:
    """Whether the user asked for tracebacks of errors (``OLMO_FULL_ERROR=1``)."""
    return os.environ.get("OLMO_FULL_ERROR", "") not in ("", "0")


@contextlib.contextmanager
def _hydra_argv(argv: list[str]) -> Iterator[None]:
    saved_argv, saved_full = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    sys.argv = argv
    if _full_error():
        os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        yield
    finally:
        sys.argv = saved_argv
        if saved_full is None:
            os.environ.pop("HYDRA_FULL_ERROR", None)
        else:
            os.environ["HYDRA_FULL_ERROR"] = saved_full


def run_command(command: Component, overrides: Sequence[str], *, multirun: bool = False,
                hydra_flags: Sequence[str] = ()) -> list[Any]:
    """Validate ``overrides``, then run ``command`` once, or once per sweep point with ``multirun``.

    Returns each job's result. A job's :class:`OlmoError` is re-raised as it is in a single run; in a
    sweep, each failing job is reported in one line and the sweep goes on, then fails as a whole, whatever the
    launcher (a job in a process of its own returns its :class:`_Outcome`).
    """
    name = command.name
    results: list[Any] = []
    failures: list[tuple[str, BaseException]] = []
    launcher_pid = os.getpid()

    def task(cfg: DictConfig) -> _Outcome | None:
        resume_for_the_job()
        setup_logging()  # a launcher may run this in a process of its own
        label, num = "", 0
        if multirun:
            hydra_config = HydraConfig.get()
            num = int(hydra_config.job.num)
            fixed = [str(key) for key in hydra_config.job.config.override_dirname.exclude_keys]
            # the job's swept values as the user typed them (tasks=[sciq]), not as Hydra got them
            label = " ".join(swept_overrides([str(o) for o in hydra_config.overrides.task], fixed)) or "defaults"
            log.info("[sweep job %s] olmo %s %s", num, name, label)
        try:
            # looked up by name, not captured: a launcher may run this in a process of its own
            component = get_host().registry("commands").get(name)
            config = to_command_config(component, cfg)
            checked = _CHECKED.pop(tuple(map(str, HydraConfig.get().overrides.task)), None) if multirun else None
            result = _run_checked(component, config, checked) if checked is not None else component.build(config)
        except Exception as exc:
            if multirun:
                log.error("[sweep job failed] %s: %s", label, exc, exc_info=_full_error())
            if os.getpid() != launcher_pid:  # a job in a process of its own (joblib, submitit)
                return _Outcome(num, label, str(exc), _stderr_file())
            failures.append((label, exc))
            return None
        if os.getpid() != launcher_pid:
            return _Outcome(num, label, log=_stderr_file())
        results.append(result)
        return None

    del _ELSEWHERE[:]
    if not multirun and (shown := _config_to_show(hydra_flags)) is not None:
        _show_config(command, check_overrides(command, overrides), shown)
        return results
    if multirun or hydra_flags or _overrides_hydra(overrides):
        try:
            if not _run_app(command, validate_overrides(command, overrides), task, multirun=multirun,
                            hydra_flags=hydra_flags):
                return results
        finally:
            _CHECKED.clear()
    else:
        overrides = check_overrides(command, overrides)
        with _hydra_argv([f"olmo {command.name}", *overrides]):
            _run_once(command, overrides, task)
    elsewhere = sorted(_ELSEWHERE, key=lambda job: job.num)
    for job in elsewhere:
        if job.log is not None:
            log.info("[sweep job %s] olmo %s %s: %s; its log: %s", job.num, name, job.label,
                     "failed" if job.error is not None else "done", job.log)
    failures += [(job.label, OlmoError(job.error)) for job in elsewhere if job.error is not None]
    if failures and not multirun:
        raise failures[0][1]
    if failures:
        jobs = len(results) + sum(job.error is None for job in _ELSEWHERE) + len(failures)
        raise OlmoError(f"{len(failures)} of {jobs} sweep jobs of `olmo {command.name}` failed: "
                        + "; ".join(f"{label}: {exc}" for label, exc in failures))
    return results


@dataclass(frozen=True)
class _Shown:
    """What ``--cfg`` asks to print (:func:`_config_to_show`)."""

    cfg_type: str
    """``job`` or ``all``."""
    package: str | None = None
    """``--package``: the node to print, ``None`` for the whole config."""
    resolve: bool = False
    """``--resolve``: interpolations resolved."""
    config_dir: str | None = None
    """``--config-dir``: a directory of the user's configs (experiment files) that Hydra searches first."""
    config_name: str | None = None
    """``--config-name``: the primary config, one of ``config_dir`` (``None``: the command's own)."""


def _flag_values(hydra_flags: Sequence[str]) -> dict[str, str | bool] | None:
    """The values of ``hydra_flags`` by their long names (``--resolve``: ``True``) when they are among ``--cfg``,
    ``--package``, ``--resolve``, ``--config-dir`` and ``--config-name``, else ``None`` (Hydra handles the flags)."""
    values: dict[str, str | bool] = {}
    flags = list(hydra_flags)
    names = {"-c": "--cfg", "-p": "--package", "-cd": "--config-dir", "-cn": "--config-name"}
    while flags:
        flag, _, value = flags.pop(0).partition("=")
        flag = names.get(flag, flag)
        if flag == "--resolve":
            values[flag] = True
        elif flag in ("--cfg", "--package", "--config-dir", "--config-name"):
            values[flag] = value or (flags.pop(0) if flags else "")
        else:
            return None
    return values


def _config_to_show(hydra_flags: Sequence[str]) -> _Shown | None:
    """What to print when ``hydra_flags`` ask for nothing but the config (``--cfg job`` or ``--cfg all``, with
    ``--package``, ``--resolve``, ``--config-dir`` and ``--config-name`` allowed), else ``None`` (Hydra handles the
    flags)."""
    if (values := _flag_values(hydra_flags)) is None:
        return None
    cfg_type = values.get("--cfg")
    if cfg_type not in ("job", "all"):
        return None
    package, config_dir, config_name = (values.get(flag) for flag in ("--package", "--config-dir", "--config-name"))
    return _Shown(str(cfg_type), None if package in (None, "_global_") else str(package), bool(values.get("--resolve")),
                  None if config_dir is None else str(config_dir), None if config_name is None else str(config_name))


def _show_config(command: Component, overrides: list[str], asked: _Shown) -> None:
    """Print the composed config as Hydra's ``--cfg`` does, less the options that nobody selected (the defaults
    of a list's options not in the list), which the run drops too; with ``--config-dir`` (and ``--config-name``),
    composed as Hydra composes it for the run (:func:`_compose_with_config_dir`), and printed the same way."""
    cfg_type, package, resolve = asked.cfg_type, asked.package, asked.resolve
    if asked.config_dir is None and asked.config_name is None:
        with initialize_config_module(config_module=__name__.rpartition(".")[0], job_name="runner",
                                      version_base=VERSION_BASE):
            cfg = compose_for_run(command, [*overrides, "hydra.mode=RUN"])
    else:
        cfg = _compose_with_config_dir(command, overrides, asked.config_dir, asked.config_name)
    if cfg_type == "job":
        with open_dict(cfg):
            del cfg["hydra"]
    drop_unselected_nodes(cfg)
    shown = OmegaConf.select(cfg, package) if package else cfg
    if package and shown is None:
        raise ConfigError(f"--package {package}: no such key in the config of `olmo {command.name}`")
    if not isinstance(shown, Container):
        print(shown)
        return
    if package:
        print(f"# @package {package}")
    if resolve:
        OmegaConf.resolve(shown)
    sys.stdout.write(OmegaConf.to_yaml(shown))


def _compose_with_config_dir(command: Component, overrides: list[str], config_dir: str | None,
                             primary: str | None) -> DictConfig:
    """The config that ``hydra.main`` composes for the run given ``--config-dir config_dir`` and ``--config-name
    primary``: Hydra's composition, with the directory in its search path, its errors in Hydra's words."""
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from hydra.types import RunMode
    from omegaconf.errors import OmegaConfBaseException

    if config_dir is not None and not os.path.isdir(config_dir):
        raise ConfigError(f"--config-dir {config_dir}: no such directory")
    directory = os.path.abspath(config_dir) if config_dir is not None else None
    with (initialize_config_dir(config_dir=directory, job_name="runner", version_base=VERSION_BASE) if directory
          else initialize_config_module(config_module=__name__.rpartition(".")[0], job_name="runner",
                                        version_base=VERSION_BASE)):
        hydra_app = GlobalHydra.instance().hydra
        assert hydra_app is not None
        try:
            return hydra_app.compose_config(primary or config_name(command), [*overrides, "hydra.mode=RUN"],
                                            run_mode=RunMode.RUN, from_shell=False, with_log_configuration=False)
        except (HydraException, OmegaConfBaseException) as exc:
            raise ConfigError(str(exc).strip()) from exc


def _overrides_hydra(overrides: Sequence[str]) -> bool:
    """Whether an override sets Hydra's own config (``hydra.run.dir=...``, ``hydra/launcher=...``)."""
    return any(text.partition("=")[0].lstrip("~+").startswith(("hydra.", "hydra/")) for text in overrides)


def _run_app(command: Component, overrides: list[str], task: Callable[[DictConfig], None], *, multirun: bool,
             hydra_flags: Sequence[str]) -> bool:
    """Run ``task`` through ``hydra.main``; False when one of Hydra's own flags (``--hydra-help``, ``--info``)
    ended it with exit status 0 instead."""
    app = hydra.main(version_base=VERSION_BASE, config_path=None, config_name=config_name(command))(task)
    argv = [f"olmo {command.name}", *hydra_flags, *(["--multirun"] if multirun else []), *overrides]
    if multirun:
        fixed = _fixed_keys(overrides)
        batches = _sweep_batches(overrides)
        if batches is not None:  # Hydra's basic sweeper makes the jobs: they are known before any runs
            _check_job_directories(batches, fixed)
            values = _flag_values(hydra_flags)
            if values is not None and values.keys() <= {"--config-dir", "--config-name"}:  # other flags run no job
                _check_sweep_jobs(command, batches, fixed, values)
        if fixed:  # name each job's directory after the values it sweeps
            argv.append(f"hydra.job.config.override_dirname.exclude_keys=[{','.join(fixed)}]")
        argv.append(f"++hydra.job.env_set.{SWEEP_ID}={uuid.uuid4().hex}")  # its jobs are compared, not earlier ones
    with _hydra_argv(argv):
        try:
            app()
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise
            return False
    return True


def _fixed_keys(overrides: list[str]) -> list[str]:
    """The keys (groups) that a sweep's ``overrides`` set to one value, less ``shard`` and ``partition``
    (:data:`~olmo_core.sweeps.SPLITS`): a job's ``shard=1/4`` names it even alone, so that the runs of the other
    shards keep records of their own."""
    return sorted({ov.key_or_group for ov in parse_overrides(overrides)
                   if not ov.is_sweep_override() and ov.key_or_group not in SPLITS})


def _check_job_directories(batches: list[list[str]], fixed: list[str]) -> None:
    """Refuse, before any job runs, a sweep two of whose jobs (``batches``: each one's overrides,
    :func:`_sweep_batches`) would work in one directory: their swept values (:func:`~olmo_core.sweeps.job_label`,
    less the ``fixed`` keys), differ only in characters that a directory name cannot hold (``exclude=['x < 0.5']``
    and ``['x > 0.5']``)."""
    from olmo_core.sweeps import directory_label

    seen: dict[str, list[str]] = {}
    for batch in batches:
        named = swept_overrides(batch, fixed)
        label = directory_label(",".join(named))
        if label in seen:
            raise ConfigError(f"the sweep's jobs {' '.join(seen[label])} and {' '.join(named)} would both work in "
                              f"<output>/{label}: their values differ only in characters a directory name cannot "
                              f"hold; run them in sweeps of their own (another output=)")
        seen[label] = named


def _sweep_batches(overrides: list[str]) -> list[list[str]] | None:
    """The overrides of each job of a sweep (by Hydra's basic sweeper), in its order, as Hydra gives them to the job
    (``hydra.overrides.task``); ``None`` when another sweeper makes the jobs."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    if any(text.partition("=")[0].lstrip("+~").startswith("hydra/sweeper") for text in overrides):
        return None  # another sweeper makes its own jobs
    task = [ov for ov in parse_overrides(overrides) if not ov.key_or_group.startswith(("hydra.", "hydra/"))]
    return [list(batch) for batch in BasicSweeper.split_arguments(task, None)[0]]


def _job_of(command: Component) -> Component | None:
    """The registered job whose command ``command`` is (:mod:`olmo_core.job_command`), ``None`` for a command that
    is no job's."""
    return next((job for job in get_host().registry("jobs") if getattr(job.factory, "command", "") == command.name),
                None)


def _check_sweep_jobs(command: Component, batches: list[list[str]], fixed: list[str],
                      flags: dict[str, str | bool]) -> None:
    """Run the check of every job of a sweep of a job's command (``olmo data filter -m exclude=...``) before any job
    runs (as :func:`olmo_core.jobs.execute` checks one: its config's bounds, its inputs, then ``Job.check``, in the
    job's own work directory), and refuse the sweep, naming each failing job by its overrides, when one fails.
    ``batches``: each job's overrides (:func:`_sweep_batches`).

    Each checked job is kept in :data:`_CHECKED`, so that the job that then runs in this process is that one, with
    what its check built (a mix's measured sources), and not checked again (:func:`_run_checked`); a job that a
    launcher runs in a process of its own (joblib, submitit) is checked again there. ``flags``: ``--config-dir``
    and ``--config-name``, with which each job's config is composed as Hydra composes it for the job."""
    from olmo_core.sweeps import SweepJob, directory_label

    _CHECKED.clear()
    job = _job_of(command)
    if job is None:
        return
    failures: list[str] = []
    for num, batch in enumerate(batches):
        named = swept_overrides(batch, fixed)
        try:
            prepared = prepare_job(job, to_command_config(command, _compose_job(command, batch, flags)))
            workdir = SweepJob(num=num, label=directory_label(",".join(named))).directory(prepared.output)
            check_job(prepared.job, prepared.config, prepared.inputs, workdir, name=prepared.name)
        except Exception as exc:
            log.error("[sweep job refused] %s: %s", " ".join(named) or "defaults", exc, exc_info=_full_error())
            failures.append(f"{' '.join(named) or 'defaults'}: {exc}")
            continue
        _CHECKED[tuple(batch)] = _Checked(prepared, workdir)
    if failures:
        _CHECKED.clear()
        raise ConfigError(f"{len(failures)} of {len(batches)} sweep jobs of `olmo {command.name}` failed their check, "
                          f"so none ran: " + "; ".join(failures))


def _compose_job(command: Component, overrides: list[str], flags: dict[str, str | bool]) -> DictConfig:
    """The config of the sweep job of ``command`` whose overrides are ``overrides``, less Hydra's node: composed
    from the command's own config, or as Hydra composes it with ``--config-dir`` and ``--config-name``
    (``flags``)."""
    if not flags:
        return compose_node(command, overrides)
    directory, primary = flags.get("--config-dir"), flags.get("--config-name")
    cfg = _compose_with_config_dir(command, overrides, None if directory is None else str(directory),
                                   None if primary is None else str(primary))
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg


def _run_checked(command: Component, config: Any, checked: _Checked) -> Any:
    """Run the sweep job of ``command`` whose check passed before the sweep ran (``checked``), as its command runs it
    (:func:`olmo_core.job_command.run_prepared`), with the job instance that was checked, which keeps what its check
    built for the run, and without checking it again when it is what was checked, in the directory it was checked
    in (else as its command runs any job)."""
    job = _job_of(command)
    assert job is not None
    prepared, before = prepare_job(job, config), checked.prepared
    same = ((prepared.config, prepared.inputs, prepared.output) == (before.config, before.inputs, before.output)
            and sweep_job_dir(prepared.output) == checked.workdir)
    return run_prepared(before, checked=True) if same else run_prepared(prepared)


def _run_once(command: Component, overrides: list[str], task: Callable[[DictConfig], None]) -> None:
    """Run ``task`` once as ``hydra.main`` runs it (Hydra's ``run`` with ``hydra.mode=RUN``), on a config
    composed once, which also validates ``overrides`` (checked against the registries already): through
    ``hydra.main``, the validation would compose it once and Hydra twice more (to learn the mode, then to run).
    Hydra's flags, sweeps and overrides of Hydra's own config (``hydra.*``) take ``hydra.main``'s path."""
    package, _, module = task.__module__.rpartition(".")
    # the search path and task name that hydra.main derives from the task function's module
    with initialize_config_module(config_module=package, job_name=module, version_base=VERSION_BASE):
        cfg = compose_for_run(command, [*overrides, "hydra.mode=RUN"])
        hydra_app = GlobalHydra.instance().hydra
        assert hydra_app is not None
        callbacks = Callbacks(cfg)
        callbacks.on_run_start(config=cfg, config_name=config_name(command))
        ret = run_job(hydra_context=HydraContext(config_loader=hydra_app.config_loader, callbacks=callbacks),
                      task_function=task, config=cfg, job_dir_key="hydra.run.dir", job_subdir_key=None)
        callbacks.on_run_end(config=cfg, config_name=config_name(command), job_return=ret)
        _ = ret.return_value  # raises the job's exception, as Hydra's run does
