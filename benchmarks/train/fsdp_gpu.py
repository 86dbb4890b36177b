"""FSDP2 bf16 training speed on GPUs: tokens/s, MFU and peak memory of an OLMo preset (goal: MFU >= 50% for
the 1B shape on an H100).

The step is olmo-train's own: the ``fsdp`` backend (``fully_shard`` per block and at the root, bf16 parameters,
fp32 reductions), the trainer's micro-batched loss normalization, clipping and AdamW, on random token ids (the
speed does not depend on the text). Run it on one GPU, or under torchrun on several:

    uv run python benchmarks/train/fsdp_gpu.py --preset olmo1-1b --seq-len 2048 --micro-batch 4 --steps 30
    uv run python benchmarks/train/fsdp_gpu.py --preset olmo2-1b --compile --activation-checkpointing
    uv run torchrun --nproc_per_node 8 benchmarks/train/fsdp_gpu.py --preset olmo2-7b --micro-batch 2

It prints one JSON line per configuration (rank 0): tokens/s (global and per GPU), MFU against
``--peak-tflops`` (H100 SXM bf16 dense: 989), peak allocated and reserved memory per GPU, and the loss of
the last step (which must be finite and falling).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any

import torch

from olmo_core.errors import ConfigError
from olmo_core.plugins import get_host
from olmo_train.accounting import flops_per_token
from olmo_train.backends.fsdp import FSDPBackend, FSDPConfig
from olmo_train.loss import labels_for, step_loss


def run(args: argparse.Namespace) -> dict[str, Any]:
    if not torch.cuda.is_available():
        raise ConfigError("this benchmark needs a GPU")
    backend = FSDPBackend(FSDPConfig(precision="bf16", compile=args.compile,
                                     activation_checkpointing=args.activation_checkpointing,
                                     reshard_after_forward=not args.no_reshard))
    torch.manual_seed(0)
    registry = get_host().registry("models")
    _, model_config = registry.resolve(args.preset)
    model_config.max_sequence_length = max(model_config.max_sequence_length, args.seq_len)
    with torch.device(backend.device):
        plain = registry.build(model_config)
    model = backend.prepare(plain)
    _, optim_config = get_host().registry("optimizers").resolve("adamw")
    optimizer = get_host().registry("optimizers").build(optim_config, model=plain)
    vocab = model_config.vocab_size
    tokens_per_step = args.micro_batch * args.accum * args.seq_len * backend.world_size
    fpt = flops_per_token(plain, args.seq_len)
    times, loss = [], float("nan")
    torch.cuda.reset_peak_memory_stats(backend.device)
    for step in range(args.warmup + args.steps):
        torch.cuda.synchronize(backend.device)
        start = time.perf_counter()
        ids = torch.randint(0, vocab, (args.accum, args.micro_batch, args.seq_len), device=backend.device)
        labels = labels_for(ids.flatten(0, 1)).view_as(ids)
        normalizer = backend.all_reduce((labels != -100).sum().float())
        optimizer.zero_grad(set_to_none=True)
        ce_sum = torch.zeros((), device=backend.device)
        for i in range(args.accum):
            with backend.micro_step(model, last=i == args.accum - 1):
                micro_loss, ce, _ = step_loss(model(ids[i], labels=labels[i]), step_tokens=normalizer)
                micro_loss.backward()
            ce_sum += ce.float()
        backend.clip_grad_norm(model, 1.0)
        optimizer.step()
        loss = float(backend.all_reduce(ce_sum) / normalizer)
        torch.cuda.synchronize(backend.device)
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    tokens_per_s = tokens_per_step / seconds
    result = {"preset": args.preset, "world_size": backend.world_size, "seq_len": args.seq_len,
              "micro_batch": args.micro_batch, "accum": args.accum, "compile": args.compile,
              "activation_checkpointing": args.activation_checkpointing, "reshard_after_forward": not args.no_reshard,
              "vendor": backend.group.vendor.name, "device": torch.cuda.get_device_name(backend.device),
              "tokens_per_s": round(tokens_per_s), "tokens_per_s_per_gpu": round(tokens_per_s / backend.world_size),
              "step_s": round(seconds, 4),
              "mfu": round(tokens_per_s / backend.world_size * fpt / (args.peak_tflops * 1e12), 4) if fpt else None,
              "peak_allocated_gib": round(torch.cuda.max_memory_allocated(backend.device) / 2**30, 2),
              "peak_reserved_gib": round(torch.cuda.max_memory_reserved(backend.device) / 2**30, 2),
              "last_loss": round(loss, 4)}
    backend.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="olmo1-1b")
    parser.add_argument("--seq-len", type=int, default=2048)
    parser.add_argument("--micro-batch", type=int, default=4)
    parser.add_argument("--accum", type=int, default=1, help="micro-batches per optimizer step")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5, help="steps not timed (compile, allocator warmup)")
    parser.add_argument("--compile", action="store_true", help="torch.compile each block")
    parser.add_argument("--activation-checkpointing", action="store_true")
    parser.add_argument("--no-reshard", action="store_true", help="reshard_after_forward=False")
    parser.add_argument("--peak-tflops", type=float, default=989.0)
    args = parser.parse_args()
    result = run(args)
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
