"""``olmo`` as a process: output into a pipe that its reader closed."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

cli_main = importlib.import_module("olmo_core.cli.main")  # the package's own `main` is the function


def test_a_closed_pipe_ends_olmo_quietly() -> None:
    """``olmo --help | head -1``: once the reader is gone, olmo stops without a traceback or an error line."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "olmo_core", "--help"], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=120)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (141, "")


def test_a_broken_pipe_inside_a_job_is_an_error(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """A job's own pipe or socket breaking is reported like any other error, while stdout's reader is there."""
    def job(argv: object) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    read, write = os.pipe()
    try:
        with os.fdopen(write, "w") as stdout:
            monkeypatch.setattr(sys, "stdout", stdout)
            monkeypatch.setattr(cli_main, "invoke", job)
            assert cli_main.main([]) == 1
    finally:
        os.close(read)
    assert capsys.readouterr().err == ("error: BrokenPipeError: [Errno 32] Broken pipe (OLMO_FULL_ERROR=1 shows "
                                       "the traceback)\n")


@pytest.mark.parametrize(("preset", "expected"), [(None, "4"), ("28", "28")])
def test_numpy_blas_threads_sleep_at_once_unless_the_user_said_otherwise(preset: str | None, expected: str) -> None:
    """An ``olmo`` process loads numpy (through its plugins) after OpenBLAS's idle timeout is set, so its BLAS
    threads do not spin; a timeout the user set is kept."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    if preset is not None:
        env["OPENBLAS_THREAD_TIMEOUT"] = preset
    probe = ("import os, sys; import olmo_core.cli.main; assert 'numpy' not in sys.modules; "
             "from olmo_core.plugins import get_host; get_host(); assert 'numpy' in sys.modules; "
             "print(os.environ['OPENBLAS_THREAD_TIMEOUT'])")
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout.strip()) == (0, expected), done.stderr


def test_after_an_interrupt_a_second_ctrl_c_cannot_break_the_exit(monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import signal

    def interrupted(argv: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "invoke", interrupted)
    before = signal.getsignal(signal.SIGINT)
    try:
        assert cli_main.main(["train"]) == 130
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # a progress bar's __del__ at exit stays quiet
    finally:
        signal.signal(signal.SIGINT, before)
    assert capsys.readouterr().err == "interrupted\n"
