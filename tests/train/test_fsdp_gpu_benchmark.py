"""benchmarks/train/fsdp_gpu.py (the GPU speed benchmark) runs its real code path on a CPU: each configuration in a
process of its own through the trainer's FSDP2 backend (gloo, fp32), a table and JSON rows out, and a configuration
that does not finish becomes a row saying so."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from olmo_core.plugins import get_host

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "train" / "fsdp_gpu.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fsdp_gpu", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_cpu_dry_run_writes_a_table_and_json_rows(tmp_path: Path) -> None:
    output = tmp_path / "table.md"
    command = [sys.executable, str(SCRIPT), "--device", "cpu", "--preset", "olmo-tiny", "--seq-len", "64",
               "--micro-batch", "2", "--accum", "2", "--warmup", "1", "--steps", "4", "--threads", "1",
               "--configs", "eager+ac", "--peak-tflops", "0.5", "--budget-s", "300", "--output", str(output)]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads(output.with_suffix(".json").read_text())
    assert [(row["config"], row["compile"], row["activation_checkpointing"]) for row in rows] == [
        ("eager+ac", False, True)]
    model = get_host().registry("models").build("olmo-tiny")
    # OLMo's FLOPs per token, 6N + 12 * layers * d_model * seq_len, where N (non-embedding parameters plus the
    # LM head) is every parameter of this weight-tied model
    flops = 6 * sum(p.numel() for p in model.parameters()) + 12 * 4 * 128 * 64
    for row in rows:
        assert row["error"] is None
        assert (row["preset"], row["device"], row["precision"], row["world_size"]) == ("olmo-tiny", "cpu", "fp32", 1)
        assert row["tokens_per_step"] == 2 * 2 * 64 and row["timed_steps"] == 4
        # a row agrees with itself: its tokens per second are its tokens per step over its (median) step time, also
        # for an even count of steps, whose median step time is the mean of the middle two
        assert row["tokens_per_s"] == pytest.approx(256 / row["step_s"], rel=1e-9)
        assert row["mfu"] == pytest.approx(row["tokens_per_s"] * flops / 0.5e12, rel=1e-9)
        assert abs(row["last_loss"] - math.log(50280)) < 1.5  # random tokens, freshly initialized
        assert row["peak_allocated_gib"] is None and row["peak_reserved_gib"] is None  # no CUDA memory on a CPU
    table = output.read_text()
    assert table == done.stdout.split("\ntotal ")[0]
    assert "olmo-tiny on 1 x cpu, fp32, FSDP2, 2 x 64 tokens x 2 micro-batches = 256 tokens per step" in table
    assert table.splitlines()[-1].startswith("| eager+ac | no | yes | ")


def test_a_configuration_that_runs_out_of_time_is_a_row_saying_so() -> None:
    script = load_script()
    argv = ["--device", "cpu", "--preset", "olmo-tiny", "--seq-len", "64", "--steps", "1"]
    row = script.run_isolated(argv, "compiled+ac", timeout_s=1.0)  # importing torch alone takes longer
    assert row["error"] == "timed out after 1 s (its share of --budget-s)"
    table = script.markdown_table([row])
    assert table.splitlines()[-1] == ("| compiled+ac | yes | yes | - | - | - | - | - | - | - | "
                                      "timed out after 1 s (its share of --budget-s) |")


def test_a_failing_configuration_reports_its_error_line() -> None:
    script = load_script()
    stderr = "Traceback (most recent call last):\n  File x\ntorch.OutOfMemoryError: CUDA out of memory. Tried\n"
    assert script._error_line(stderr) == "torch.OutOfMemoryError: CUDA out of memory. Tried"
    assert script._error_line("") == "exited without a message"


def test_in_process_a_configuration_that_raises_is_a_row_and_the_next_one_runs(tmp_path: Path) -> None:
    script = load_script()
    output = tmp_path / "table.md"
    script.main(["--in-process", "--device", "cpu", "--preset", "no-such-model", "--configs", "eager,compiled",
                 "--output", str(output)])
    rows = json.loads(output.with_suffix(".json").read_text())
    assert [row["config"] for row in rows] == ["eager", "compiled"]
    for row in rows:
        assert row["error"].startswith("olmo_core.errors.UnknownComponentError: unknown model 'no-such-model'")
    assert len(output.read_text().splitlines()) == 4  # no heading without a finished configuration
