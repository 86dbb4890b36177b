"""FSDP2 bf16 training speed of an OLMo preset on one GPU: step time, tokens/s, MFU and peak memory, with
activation checkpointing on and off, compiled and eager (goal: MFU >= 50% for the 1B shape on an H100).

Each configuration is a real ``olmo train`` step: olmo-train's ``Trainer`` with ``backend=fsdp`` (``fully_shard``
per block and at the root, bf16 parameters, fp32 reductions; world size 1 unless started under torchrun), its
micro-batched loss normalization, clipping and AdamW, fed random token ids (the speed does not depend on the
text). Tokens/s and MFU are the ``speed`` callback's (``olmo_train.accounting.flops_per_token``), medians over
the timed steps, which follow ``--warmup`` untimed ones (compilation, allocator warm-up); every step ends
with ``torch.cuda.synchronize``. The trainer is built under ``torch.device(--device)``, so that the model is
initialized on the GPU (``olmo train`` initializes on the CPU and then moves it: for 1B, much of the budget).
Each configuration runs in a process of its own (no memory or compile cache carries over) within a share of
``--budget-s``; one that fails (out of memory, a timeout) is a row saying so.

    uv run python benchmarks/train/fsdp_gpu.py                       # olmo1-1b, the four configurations, < 5 min
    uv run python benchmarks/train/fsdp_gpu.py --preset olmo2-1b --configs compiled,compiled+ac --output t.md
    uv run python benchmarks/train/fsdp_gpu.py --device cpu --preset olmo-tiny --seq-len 64 --steps 2  # dry run

The markdown table goes to stdout and to ``--output`` (default ``$OUT/fsdp_gpu.md`` when ``$OUT`` is set),
with the rows as JSON beside it (``.json``). Under ``torchrun --nproc_per_node N`` each rank runs the
configurations one after another in its own process (as ``--in-process`` does: no isolation, no timeouts) and
rank 0 writes the table (tokens/s over all ranks, MFU per GPU). It needs a GPU to say
anything about speed; ``--device cpu`` (gloo, fp32) runs the same code path to check that the script works.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CONFIGS: dict[str, tuple[bool, bool]] = {"eager": (False, False), "eager+ac": (False, True),
                                         "compiled": (True, False), "compiled+ac": (True, True)}
"""Each configuration's ``(torch.compile, activation checkpointing)``; eager ones run first, so the time they
leave over goes to compilation."""


class RandomTokens:
    """An endless loader of random token ids: one global batch (this rank's rows) per step, as the trainer
    takes them."""

    def __init__(self, rows: int, seq_len: int, vocab_size: int, seed: int) -> None:
        self.rows, self.seq_len, self.vocab_size, self.seed = rows, seq_len, vocab_size, seed

    def __iter__(self) -> Iterator[dict[str, Any]]:
        import torch

        generator = torch.Generator().manual_seed(self.seed)
        while True:
            yield {"input_ids": torch.randint(0, self.vocab_size, (self.rows, self.seq_len), generator=generator)}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def _recorder() -> Any:
    """A callback that keeps each step's metrics (after ``speed`` added its own) and the peak device memory."""
    import torch

    from olmo_core.callbacks import Callback

    class StepRecorder(Callback):
        order = 50  # after speed (10)

        def __init__(self) -> None:
            self.steps: list[dict[str, Any]] = []
            self.peak_allocated: float | None = None
            self.peak_reserved: float | None = None

        def on_fit_start(self, trainer: Any) -> None:
            if trainer.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(trainer.device)

        def on_step_end(self, trainer: Any, metrics: dict[str, Any]) -> None:
            self.steps.append(dict(metrics))

        def on_fit_end(self, trainer: Any) -> None:
            if trainer.device.type == "cuda":
                self.peak_allocated = torch.cuda.max_memory_allocated(trainer.device) / 2**30
                self.peak_reserved = torch.cuda.max_memory_reserved(trainer.device) / 2**30

    return StepRecorder()


def train_overrides(args: argparse.Namespace, name: str, run_dir: Path) -> list[str]:
    """The ``olmo train`` options of configuration ``name``."""
    from olmo_core.plugins import get_host

    compile_blocks, checkpointing = CONFIGS[name]
    _, preset = get_host().registry("models").resolve(args.preset)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rows = args.micro_batch * args.accum
    items = {"model": args.preset, "model.max_sequence_length": max(preset.max_sequence_length, args.seq_len),
             "backend": "fsdp", "backend.device": args.device, "backend.precision": args.precision,
             "backend.compile": compile_blocks, "backend.activation_checkpointing": checkpointing,
             "backend.reshard_after_forward": not args.no_reshard, "callbacks": "[loss_guard,speed]",
             "seq_len": args.seq_len, "global_batch_size": rows * args.seq_len * world_size,
             "micro_batch_size": args.micro_batch, "max_steps": args.warmup + args.steps,
             "scheduler.warmup_steps": 1, "output": str(run_dir), "data": "[]"}
    if args.peak_tflops:
        items["callbacks.speed.peak_tflops"] = args.peak_tflops
    if args.threads:
        items["threads"] = args.threads
    return [f"{key}={value}" for key, value in items.items()]


def measure(args: argparse.Namespace, name: str) -> dict[str, Any]:
    """Train configuration ``name`` in this process; its row of the table."""
    import torch

    from olmo_core.config import config_of
    from olmo_core.hydra_bridge import compose_command
    from olmo_core.plugins import get_host
    from olmo_train.config import TrainConfig
    from olmo_train.trainer import Trainer

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fsdp_gpu_") as run_dir:
        options = compose_command(get_host().registry("commands").get("train"),
                                  train_overrides(args, name, Path(run_dir)))
        config = config_of(TrainConfig, options)
        recorder = _recorder()
        loader = RandomTokens(args.micro_batch * args.accum, args.seq_len, config.model.vocab_size, config.seed)
        with torch.device(args.device):  # initialize on the GPU, not slowly on the CPU
            trainer = Trainer(config, run_dir=run_dir, loader=loader, callbacks=[recorder])
        setup_s = time.perf_counter() - started
        device = trainer.device
        device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
        trainer.fit()
    timed = recorder.steps[args.warmup:]
    step_s = statistics.median(step["seconds"] for step in timed)
    tokens_per_s = timed[0]["tokens"] / step_s  # the median step's, so that a row agrees with itself
    per_token = timed[0].get("mfu") and timed[0]["mfu"] / timed[0]["tokens_per_second"]  # FLOPs per token / peak
    return {"config": name, "preset": args.preset, "device": device_name, "world_size": trainer.world_size,
            "precision": trainer.backend.precision, "compile": CONFIGS[name][0],
            "activation_checkpointing": CONFIGS[name][1], "seq_len": args.seq_len,
            "micro_batch": args.micro_batch, "accum": args.accum, "tokens_per_step": timed[0]["tokens"],
            "timed_steps": len(timed), "step_s": step_s, "tokens_per_s": tokens_per_s,
            "mfu": tokens_per_s * per_token if per_token else None,
            "peak_allocated_gib": recorder.peak_allocated, "peak_reserved_gib": recorder.peak_reserved,
            "setup_s": setup_s, "first_step_s": recorder.steps[0]["seconds"], "last_loss": timed[-1]["loss"],
            "wall_s": time.perf_counter() - started, "error": None}


def measure_or_fail(args: argparse.Namespace, name: str) -> dict[str, Any]:
    """:func:`measure` in this process; a configuration that raises is a row saying so."""
    import gc

    import torch

    try:
        return measure(args, name)
    except Exception as exc:  # noqa: BLE001 - any failure (out of memory, compilation) is the configuration's row
        message = (str(exc).strip().splitlines() or [""])[0]
        return failure_row(name, _short(f"{type(exc).__module__}.{type(exc).__name__}: {message}"))
    finally:
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def failure_row(name: str, error: str) -> dict[str, Any]:
    """The row of a configuration that did not finish."""
    return {"config": name, "compile": CONFIGS[name][0], "activation_checkpointing": CONFIGS[name][1],
            "error": error}


def _error_line(stderr: str) -> str:
    """The line of a failed run's stderr that names its exception (else its last line)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line.split(":")[0] or "Exception" in line.split(":")[0]]
    return _short((errors or lines or ["exited without a message"])[-1])


def _short(line: str, limit: int = 200) -> str:
    return line if len(line) <= limit else line[:limit - 3] + "..."


def run_isolated(argv: list[str], name: str, timeout_s: float) -> dict[str, Any]:
    """Run configuration ``name`` in a fresh process (and process group) of its own, within ``timeout_s``."""
    command = [sys.executable, os.path.abspath(__file__), *argv, "--configs", name, "--child"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=max(timeout_s, 1.0))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # compile workers too
        process.communicate()
        return failure_row(name, f"timed out after {timeout_s:.0f} s (its share of --budget-s)")
    rows = [line for line in stdout.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not rows:
        sys.stderr.write(stderr[-4000:])
        return failure_row(name, f"exit {process.returncode}: {_error_line(stderr)}")
    row: dict[str, Any] = json.loads(rows[-1])
    row["wall_s"] = time.perf_counter() - started
    return row


def _cell(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The rows as a markdown table (a failed configuration says why in its last column)."""
    done = next((row for row in rows if not row["error"]), None)
    head = "" if done is None else (
        f"{done['preset']} on {done['world_size']} x {done['device']}, {done['precision']}, FSDP2, "
        f"{done['micro_batch']} x {done['seq_len']} tokens x {done['accum']} micro-batches = "
        f"{done['tokens_per_step']:,} tokens per step, medians of {done['timed_steps']} timed steps\n\n")
    columns = ["config", "compile", "act. ckpt", "step s", "tokens/s", "MFU", "peak alloc GiB", "peak reserved GiB",
               "first step s", "wall s", "note"]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        mfu = row.get("mfu")
        lines.append("| " + " | ".join([
            row["config"], "yes" if row["compile"] else "no", "yes" if row["activation_checkpointing"] else "no",
            _cell(row.get("step_s"), 3), _cell(row.get("tokens_per_s"), 0),
            "-" if mfu is None else f"{100 * mfu:.1f}%", _cell(row.get("peak_allocated_gib"), 1),
            _cell(row.get("peak_reserved_gib"), 1), _cell(row.get("first_step_s"), 1), _cell(row.get("wall_s"), 0),
            row["error"] or (f"loss {row['last_loss']:.3f}" if math.isfinite(row["last_loss"]) else "loss not finite"),
        ]) + " |")
    return head + "\n".join(lines) + "\n"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=" ".join((__doc__ or "").split("\n\n")[0].split()))
    parser.add_argument("--preset", default="olmo1-1b", help="a model preset (olmo1-1b, olmo2-1b, olmo-tiny ...)")
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated, of {', '.join(CONFIGS)}")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--precision", default=None, choices=("bf16", "fp32"),
                        help="default: bf16 on cuda, fp32 on cpu")
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--micro-batch", type=int, default=4, help="instances per forward/backward pass")
    parser.add_argument("--accum", type=int, default=4, help="micro-batches per optimizer step")
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (compilation, allocator)")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="peak TFLOP/s of one device for MFU (default on cuda: the speed callback's 989, "
                             "H100/H200 SXM bf16 dense; on cpu no MFU unless given)")
    parser.add_argument("--no-reshard", action="store_true", help="backend.reshard_after_forward=false")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--budget-s", type=float, default=285.0,
                        help="seconds for all configurations; each gets the time left over the configurations left")
    parser.add_argument("--in-process", action="store_true",
                        help="run the configurations one after another in this process (no isolation, no timeout)")
    parser.add_argument("--output", type=Path, default=None,
                        help="markdown table file (default: $OUT/fsdp_gpu.md when $OUT is set); rows as .json beside")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.precision = args.precision or ("bf16" if args.device == "cuda" else "fp32")
    args.configs = [name.strip() for name in args.configs.split(",") if name.strip()]
    unknown = [name for name in args.configs if name not in CONFIGS]
    if unknown or not args.configs:
        parser.error(f"--configs: unknown {unknown}; choose from {', '.join(CONFIGS)}")
    if args.output is None and os.environ.get("OUT"):
        args.output = Path(os.environ["OUT"]) / "fsdp_gpu.md"
    return args


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.child:
        print(json.dumps(measure(args, args.configs[0])), flush=True)
        return
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("no GPU here: this benchmark measures GPUs (--device cpu checks the script only)")
    # torchrun's ranks share one rendezvous: children of theirs could not each start a process group afresh
    in_process = args.in_process or int(os.environ.get("WORLD_SIZE", "1")) > 1
    started, rows = time.perf_counter(), []
    for index, name in enumerate(args.configs):
        if in_process:
            rows.append(measure_or_fail(args, name))
            continue
        left = args.budget_s - (time.perf_counter() - started)
        rows.append(run_isolated(argv, name, left / (len(args.configs) - index)))
    if int(os.environ.get("RANK", "0")) != 0:
        return
    table = markdown_table(rows)
    print(table + f"\ntotal {time.perf_counter() - started:.0f} s", flush=True)
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(table)
        args.output.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
