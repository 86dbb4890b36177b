"""Where a CPU training step's time goes: torch.profiler over the trainer's own steps, by category.

The steps are :meth:`olmo_train.trainer.Trainer.train_step` on batches from the trainer's own token-array
loader (real text: the standard library's ``.py`` files, as ``transformers_speed.py`` reads them), the same
shape and fp32 as ``transformers_speed.py`` (olmo-tiny, 8 x 256 tokens). First ``--steps`` steps are timed
without the profiler (tokens/s, and its FLOP/s as a share of the measured fp32 matmul peak), then
``--profile-steps`` more run under ``torch.profiler``; every profiled operator's self time goes to one
category: matmuls (by operator name, the LM head's apart), attention (SDPA) by name, and the rest by the
code it ran in, which the script marks with ``record_function`` scopes around the model's norms, rotary
embedding, SwiGLU, loss, embedding, and the trainer's data fetch, gradient clipping and optimizer.
Backward operators are charged to the scope of the forward operator that made them (autograd's sequence
numbers). Time in no operator (Python, the autograd engine) is "other".

    uv run python benchmarks/train/profile_step.py [--preset olmo-tiny] [--seq-len 256] [--batch 8] [--threads 2]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile, record_function

sys.path.insert(0, str(Path(__file__).resolve().parent))
from transformers_speed import matmul_peak, real_batches

CATEGORIES = {  # scope -> row of the table, in the table's order
    "matmul": "matmuls (blocks' linear layers)",
    "head_matmul": "LM head matmuls (in the loss)",
    "loss": "LM head softmax, loss, gradient scaling",
    "attention": "attention (SDPA)",
    "norm": "norms",
    "rotary": "rotary",
    "swiglu": "activation (SwiGLU)",
    "embedding": "embedding",
    "clip": "gradient clipping, zero_grad",
    "optimizer": "optimizer (AdamW)",
    "data": "data loading",
    "other": "other (residual adds, reshapes, Python, autograd)",
}
MATMULS = {"aten::mm", "aten::addmm", "aten::addmm_", "aten::bmm", "aten::baddbmm", "aten::_addmm_activation"}
SCOPE = "olmo::"
BACKWARD = "autograd::engine::evaluate_function: "
BACKWARD_NODES = {"_LinearCrossEntropyBackward": "loss", "EmbeddingBackward0": "embedding", "_RopeBackward": "rotary",
                  "_SwiGLUBackward": "swiglu"}
"""Backward nodes of the model's own autograd functions, whose forward ran no operator of their sequence number."""


def make_tokens(directory: Path, seq_len: int, instances: int) -> Path:
    """A token-array directory of ``instances`` instances of real text (the benchmark's tokens, one part)."""
    from olmo_core.token_arrays import TokenArrayWriter
    from olmo_core.tokenizer import load_tokenizer

    tokenizer = load_tokenizer("olmo-v1.5")
    ids = real_batches(seq_len, instances, 1).reshape(-1).tolist()
    writer = TokenArrayWriter(directory / "part-00000", tokenizer=tokenizer.identity,
                              eos_token_id=tokenizer.eos_token_id, vocab_size=tokenizer.vocab_size)
    writer.add(ids, document_id="stdlib", source="stdlib", line=0)
    writer.close()
    return directory


def make_trainer(args: argparse.Namespace, work: Path, total_steps: int) -> Any:
    """The trainer of ``olmo train`` with the benchmark's shape, fp32, on real token arrays (its callbacks run
    only where a step calls them: :meth:`Trainer.train_step` checks the loss)."""
    from olmo_core.config import config_of
    from olmo_core.hydra_bridge import compose_command
    from olmo_core.plugins import get_host
    from olmo_train.config import TrainConfig
    from olmo_train.trainer import Trainer

    tokens = make_tokens(work / "tokens", args.seq_len, total_steps * args.batch + 1)
    options = {"model": args.preset, "seq_len": args.seq_len, "global_batch_size": args.seq_len * args.batch,
               "micro_batch_size": args.batch, "max_steps": total_steps, "threads": args.threads,
               "backend.precision": "fp32", "data": f"[{tokens}]", "output": str(work / "run")}
    command = get_host().registry("commands").get("train")
    composed = compose_command(command, [f"{k}={v}" for k, v in options.items()])
    return Trainer(config_of(TrainConfig, composed), data=composed.data, run_dir=composed.output)


def _scoped(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with record_function(SCOPE + name):
            return function(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def scopes(trainer: Any) -> Iterator[None]:
    """Mark the model's and the trainer's parts with ``record_function`` scopes (undone on exit)."""
    from olmo_core.nn import model as olmo_model

    patches: list[tuple[Any, str, str]] = [
        (olmo_model, "apply_rope", "rotary"), (olmo_model.RotaryEmbedding, "tables", "rotary"),
        (olmo_model.RMSNorm, "forward", "norm"), (olmo_model.LayerNorm, "forward", "norm"),
        (olmo_model.OLMoBlock, "mlp", "swiglu"), (olmo_model, "linear_cross_entropy", "loss"),
        (trainer.plain_model.transformer.wte, "forward", "embedding"),
        (trainer.backend, "clip_grad_norm", "clip"), (trainer.optimizer, "zero_grad", "clip"),
        (trainer.optimizer, "step", "optimizer"),
    ]
    saved = []
    for owner, attribute, name in patches:
        if hasattr(owner, attribute):
            saved.append((owner, attribute, owner.__dict__.get(attribute)))
            setattr(owner, attribute, _scoped(name, getattr(owner, attribute)))
    try:
        yield
    finally:
        for owner, attribute, original in reversed(saved):
            if original is None:
                delattr(owner, attribute)
            else:
                setattr(owner, attribute, original)


def categorize(events: Any) -> dict[str, float]:
    """Self CPU time (microseconds) per category over all profiled events."""
    def ancestry(event: Any) -> list[Any]:
        chain = []
        while event is not None:
            chain.append(event)
            event = event.cpu_parent
        return chain

    forward_scope: dict[int, str] = {}
    chains = [(event, ancestry(event)) for event in events]
    for event, chain in chains:
        if event.sequence_nr >= 0 and not any(e.name.startswith(BACKWARD) for e in chain):
            scope = next((e.name[len(SCOPE):] for e in chain if e.name.startswith(SCOPE)), None)
            if scope is not None:
                forward_scope.setdefault(event.sequence_nr, scope)
    totals: dict[str, float] = defaultdict(float)
    for event, chain in chains:
        totals[_category(chain, forward_scope)] += event.self_cpu_time_total
    return totals


def _category(chain: list[Any], forward_scope: dict[int, str]) -> str:
    names = [e.name for e in chain]
    scope = next((n[len(SCOPE):] for n in names if n.startswith(SCOPE)), None)
    node = next((e for e in chain if e.name.startswith(BACKWARD)), None)
    if scope is None and node is not None:
        scope = forward_scope.get(node.sequence_nr) or BACKWARD_NODES.get(node.name[len(BACKWARD):])
    if any(n in MATMULS for n in names):
        return "head_matmul" if scope == "loss" else "matmul"
    if any("scaled_dot_product" in n for n in names):
        return "attention"
    return scope if scope in CATEGORIES else "other"


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Time ``args.steps`` steps, then profile ``args.profile_steps``; the numbers of the report."""
    torch.set_num_threads(args.threads)
    total = args.warmup + args.steps + args.profile_steps
    with tempfile.TemporaryDirectory() as work:
        trainer = make_trainer(args, Path(work), total)
        trainer.model.train()
        batches = trainer._batches()
        seconds, cpu_seconds = [], []
        for i in range(args.warmup + args.steps):
            start, cpu_start = time.perf_counter(), time.process_time()
            trainer.train_step(next(batches))
            if i >= args.warmup:
                seconds.append(time.perf_counter() - start)
                cpu_seconds.append(time.process_time() - cpu_start)
        with scopes(trainer), profile(activities=[ProfilerActivity.CPU]) as prof:
            start = time.perf_counter()
            for _ in range(args.profile_steps):
                with record_function(SCOPE + "data"):
                    batch = next(batches)
                trainer.train_step(batch)
            profiled = time.perf_counter() - start
        flops = _flops_per_token(trainer.plain_model, args.seq_len)
        trainer.close()
    totals = categorize(prof.events())
    per_step = {name: totals.get(name, 0.0) / 1e3 / args.profile_steps for name in CATEGORIES}
    per_step["other"] += max(0.0, profiled * 1e3 / args.profile_steps - sum(per_step.values()))
    tokens = args.batch * args.seq_len
    return {"step_seconds": seconds, "step_cpu_seconds": cpu_seconds,
            "tokens_per_second": tokens / statistics.median(seconds), "best_tokens_per_second": tokens / min(seconds),
            "flops_per_token": flops, "profiled_ms": per_step}


def _flops_per_token(model: torch.nn.Module, seq_len: int) -> float:
    from olmo_train.accounting import flops_per_token

    return float(flops_per_token(model, seq_len) or 0.0)


def table(per_step: dict[str, float]) -> str:
    """The breakdown as a markdown table: ms per step and share of the profiled step."""
    total = sum(per_step.values())
    rows = ["| category | ms per step | share |", "|---|---:|---:|"]
    rows += [f"| {CATEGORIES[name]} | {ms:.1f} | {ms / total:.1%} |" for name, ms in per_step.items() if ms > 0]
    rows.append(f"| **profiled step** | **{total:.1f}** | 100% |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="olmo-tiny")
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="timed steps (tokens/s is their median)")
    parser.add_argument("--profile-steps", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the numbers as one JSON line too")
    args = parser.parse_args()
    result = run(args)
    peak = matmul_peak()
    share = result["tokens_per_second"] * result["flops_per_token"] / peak
    print(f"{args.preset}, fp32, batch {args.batch} x {args.seq_len} tokens, {args.threads} threads, "
          f"{args.profile_steps} profiled steps after {args.warmup + args.steps} unprofiled")
    print(table(result["profiled_ms"]))
    print(f"tokens/s (median of {args.steps} unprofiled steps): {result['tokens_per_second']:,.0f}; "
          f"{result['tokens_per_second'] * result['flops_per_token'] / 1e9:.1f} GFLOP/s = {share:.0%} of the "
          f"measured fp32 matmul peak ({peak / 1e9:.1f} GFLOP/s); fastest step "
          f"{result['best_tokens_per_second']:,.0f} tokens/s = "
          f"{result['best_tokens_per_second'] * result['flops_per_token'] / peak:.0%}; CPU seconds per step "
          f"(all threads, median) {statistics.median(result['step_cpu_seconds']):.2f}")
    if args.json:
        print(json.dumps({**result, "matmul_peak": peak, "share_of_peak": share}))


if __name__ == "__main__":
    main()
