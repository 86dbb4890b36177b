"""The garbage collector rests while ``olmo`` starts and collects again, start-up's objects frozen, in the job."""

from __future__ import annotations

import gc
import subprocess
import sys
from typing import Any

import pytest

from olmo_core.cli import invoke, runner
from olmo_core.errors import UsageError


def test_the_collector_rests_during_start_up_and_collects_in_the_job(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[bool, bool]] = []
    compose = runner.compose_for_run

    def composing(*args: Any, **kwargs: Any) -> Any:
        seen.append((gc.isenabled(), gc.get_freeze_count() > 0))
        return compose(*args, **kwargs)

    def job(component: Any, cfg: Any) -> None:
        seen.append((gc.isenabled(), gc.get_freeze_count() > 0))

    monkeypatch.setattr(runner, "compose_for_run", composing)
    monkeypatch.setattr(runner, "to_command_config", job)
    invoke(["plugins"])
    assert seen == [(False, False), (True, True)]
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_the_collector_collects_again_after_a_start_up_error() -> None:
    with pytest.raises(UsageError):
        invoke(["no-such-command"])
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off() -> None:
    gc.disable()
    try:
        invoke(["--version"])
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_olmo_process_keeps_start_up_frozen_to_its_end() -> None:
    """``main()`` on the process's command line: at exit, what start-up made is still frozen (the interpreter's
    collections at exit skip it) and nothing the job made is."""
    code = """
import atexit, gc, sys
from olmo_core.cli import main, runner
at_job_start = []
build = runner.to_command_config
def job(component, cfg):
    at_job_start.append(gc.get_freeze_count())
    return build(component, cfg)
runner.to_command_config = job
atexit.register(lambda: print(at_job_start[0] > 0, gc.get_freeze_count() <= at_job_start[0]))
sys.argv = ["olmo", "plugins", "output=/dev/null"]
main()
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.splitlines()[-1] == "True True"
