"""Running a command through Hydra, so that sweeps (``-m``), launchers and ``--cfg`` work as in any Hydra app."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from olmo_core.errors import OlmoError
from olmo_core.hydra_bridge import VERSION_BASE, config_name, to_command_config, validate_overrides
from olmo_core.overrides import parse_overrides
from olmo_core.logs import setup_logging
from olmo_core.plugins import get_host
from olmo_core.registry import Component

__all__ = ["run_command"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _hydra_argv(argv: list[str]) -> Iterator[None]:
    saved_argv, saved_full = sys.argv, os.environ.get("HYDRA_FULL_ERROR")
    sys.argv = argv
    if os.environ.get("OLMO_FULL_ERROR", "") not in ("", "0"):
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
    sweep, each failing job is reported in one line and the sweep goes on, then fails as a whole.
    """
    overrides = validate_overrides(command, overrides)
    name = command.name
    results: list[Any] = []
    failures: list[tuple[str, BaseException]] = []
    launcher_pid = os.getpid()

    def task(cfg: DictConfig) -> None:
        setup_logging()  # a launcher may run this in a process of its own
        label = ""
        if multirun:
            job = HydraConfig.get().job
            label = " ".join(job.override_dirname.split(",")) or "defaults"
            log.info("[sweep job %s] olmo %s %s", job.num, name, label)
        try:
            # looked up by name, not captured: a launcher may run this in a process of its own
            component = get_host().registry("commands").get(name)
            results.append(component.build(to_command_config(component, cfg)))
        except Exception as exc:
            if os.getpid() != launcher_pid:  # a job in a process of its own (submitit): fail that job
                raise
            failures.append((label, exc))
            if multirun:
                log.error("[sweep job failed] %s: %s", label, exc)

    app = hydra.main(version_base=VERSION_BASE, config_path=None, config_name=config_name(command))(task)
    argv = [f"olmo {command.name}", *hydra_flags, *(["--multirun"] if multirun else []), *overrides]
    if multirun:
        fixed = sorted({ov.key_or_group for ov in parse_overrides(overrides) if not ov.is_sweep_override()})
        if fixed:  # name each job's directory after the values it sweeps
            argv.append(f"hydra.job.config.override_dirname.exclude_keys=[{','.join(fixed)}]")
    with _hydra_argv(argv):
        try:
            app()
        except SystemExit as exc:  # Hydra's own flags (--hydra-help, --info) end with exit status 0
            if exc.code not in (0, None):
                raise
            return results
    if failures and not multirun:
        raise failures[0][1]
    if failures:
        raise OlmoError(f"{len(failures)} of {len(results) + len(failures)} sweep jobs of `olmo {command.name}` "
                        f"failed: " + "; ".join(f"{label}: {exc}" for label, exc in failures))
    return results
