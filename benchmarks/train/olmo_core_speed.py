"""Training speed, olmo against AllenAI's OLMo-core 3.0.0, same OLMo-2 shape, weights, batches and optimizer.

OLMo-core's import name ``olmo_core`` clashes with ours, so it runs from a virtual environment of its own
(``benchmarks/.venvs/olmo-core-3.0.0``, made with ``uv venv`` + ``uv pip install ai2-olmo-core==3.0.0`` on the
first run and reused after; torch is pinned to the version in our ``uv.lock`` with ``--override``, since
OLMo-core 3.0.0 asks for ``torch<2.14``). Each side runs in a fresh subprocess with its CPU threads pinned:

* olmo: our :class:`~olmo_train.trainer.Trainer` (single-device fp32 backend, no callbacks) stepping our OLMo
  model built with the OLMo-2 block (RMSNorm, QK-norm over the full projection, reordered norm, SwiGLU, RoPE
  θ=500,000, untied LM head) and our AdamW (no decay on embeddings and norms), constant learning rate,
  gradient clipping at 1.0.
* OLMo-core: its ``TransformerConfig.llama_like`` with the arguments its ``olmo2_*`` presets pass
  (``reordered_norm`` block, ``qk_norm``, ``rope_theta=500_000``, ``layer_norm_eps=1e-6``), built into its
  ``TransformerTrainModule`` with its ``AdamWConfig`` (torch's AdamW; embeddings and norms in a no-decay
  group) and ``max_grad_norm=1.0``; each step is the module's ``zero_grads``, ``train_batch`` and
  ``optim_step``. Its ``Trainer`` is not used: it wants its own numpy data loader (which would reorder the
  batches) and checkpoint folders, so a small stand-in receives the metrics the module records.

Both start from the same weights: the parent builds our model (seed 0) and OLMo-core's side loads that state
dict with the parameter names mapped (the fused ``att_proj`` split into ``w_q``/``w_k``/``w_v``; ``ff_proj``'s
halves, up then gate, into ``w3``/``w1``), so the loss curves are comparable step by step. The batches are
real text (the standard library's ``.py`` files, OLMo v1.5 tokenizer), identical on both sides. Reported:
tokens per second (wall clock), CPU seconds of the measured steps, peak memory (max RSS of each subprocess),
both loss curves and the ratios; the last line is ``RESULT {json}``.

    uv run python benchmarks/train/olmo_core_speed.py [--steps 10] [--seq-len 256] [--batch 8] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from transformers_speed import real_batches  # the same real tokens as the transformers benchmark

ROOT = Path(__file__).resolve().parents[2]
OLMO_CORE_VERSION = "3.0.0"
VENV = ROOT / "benchmarks" / ".venvs" / f"olmo-core-{OLMO_CORE_VERSION}"
ROPE_THETA = 500_000
NORM_EPS = 1e-6
NOT_RUN = ("OLMo-core's Trainer (its numpy data loader would reorder the batches; a stand-in takes the metrics); "
           "its CUDA-only pieces: flash/Transformer Engine attention backends (the torch SDPA backend ran), fused "
           "RMSNorm/RoPE/QKV (fused_ops), fused linear cross-entropy, float8, FSDP/TP/CP parallelism; "
           "torch.compile on neither side")
LOSS_TOLERANCE = 1e-3
"""Largest loss difference over the steps that still counts as the same training run (fp32 on both sides)."""


def swiglu_hidden(d_model: int, multiple_of: int = 256) -> int:
    """The SwiGLU hidden size OLMo-core's ``llama_like`` gives ``d_model``: 8/3·d rounded up to ``multiple_of``."""
    return -(-int(8 * d_model / 3) // multiple_of) * multiple_of


def olmo_config(args: argparse.Namespace) -> Any:
    """Our OLMo-2 configuration of the benchmark's shape (``mlp_hidden_size`` holds both SwiGLU halves)."""
    from olmo_core.nn.config import OLMoConfig

    return OLMoConfig(d_model=args.d_model, n_layers=args.layers, n_heads=args.heads,
                      mlp_hidden_size=2 * swiglu_hidden(args.d_model), max_sequence_length=max(args.seq_len, 1024),
                      rope_theta=float(ROPE_THETA), norm="rms_norm", norm_eps=NORM_EPS, block="olmo2", qk_norm=True,
                      weight_tying=False, init="normal")


# -- the olmo side (our environment) -------------------------------------------------------------------------


class _Batches(list):  # type: ignore[type-arg]
    """The batches as the loader our trainer expects (steps are driven one by one, so its state is empty)."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def run_olmo(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Steps of our trainer on the shared batches from the shared initial weights."""
    from dataclasses import asdict

    from olmo_train.config import TrainConfig
    from olmo_train.trainer import Trainer

    data = torch.load(work / "batches.pt")
    config = TrainConfig(
        model={"_name_": "olmo", **asdict(olmo_config(args))},
        optim={"_name_": "adamw", "lr": args.lr, "betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1},
        scheduler={"_name_": "constant", "warmup_steps": 0}, backend={"_name_": "single", "device": "cpu",
                                                                        "precision": "fp32"},
        callbacks={}, seq_len=args.seq_len, global_batch_size=args.batch * args.seq_len,
        micro_batch_size=args.batch, max_steps=len(data), grad_clip=1.0, threads=args.threads)
    trainer = Trainer(config, run_dir=work / "olmo-run", loader=_Batches())
    trainer.plain_model.load_state_dict(torch.load(work / "init.pt"))

    def step(ids: torch.Tensor) -> float:
        return float(trainer.train_step({"input_ids": ids})["loss"])

    return timed_steps("olmo", step, data, args.warmup) | {"ran": "olmo_train Trainer.train_step"}


# -- the OLMo-core side (its own virtual environment) --------------------------------------------------------


class _MetricSink:
    """What OLMo-core's train module asks of its ``Trainer`` during a step: somewhere to record metrics."""

    def __init__(self, global_batch_size: int) -> None:
        self.global_batch_size = global_batch_size
        self.dp_process_group = None
        self.ce_loss: torch.Tensor | None = None

    def record_metric(self, name: str, value: Any, reduce_type: Any = None, namespace: Any = None,
                      merge_strategy: Any = None) -> None:
        pass

    def record_ce_loss(self, value: torch.Tensor, reduce_type: Any = None) -> None:
        self.ce_loss = value


def to_olmo_core(state: dict[str, torch.Tensor], d_model: int, n_layers: int) -> dict[str, torch.Tensor]:
    """Our state dict under OLMo-core's ``Transformer`` parameter names."""
    out = {"embeddings.weight": state["transformer.wte.weight"],
           "lm_head.norm.weight": state["transformer.ln_f.weight"],
           "lm_head.w_out.weight": state["transformer.ff_out.weight"]}
    for i in range(n_layers):
        ours, theirs = f"transformer.blocks.{i}.", f"blocks.{i}."
        q, k, v = state[ours + "att_proj.weight"].split(
            [d_model, *(2 * [(state[ours + "att_proj.weight"].shape[0] - d_model) // 2])])
        up, gate = state[ours + "ff_proj.weight"].chunk(2)
        out |= {theirs + "attention.w_q.weight": q, theirs + "attention.w_k.weight": k,
                theirs + "attention.w_v.weight": v, theirs + "attention.w_out.weight": state[ours + "attn_out.weight"],
                theirs + "attention.q_norm.weight": state[ours + "q_norm.weight"],
                theirs + "attention.k_norm.weight": state[ours + "k_norm.weight"],
                theirs + "attention_norm.weight": state[ours + "attn_norm.weight"],
                theirs + "feed_forward.w1.weight": gate, theirs + "feed_forward.w3.weight": up,
                theirs + "feed_forward.w2.weight": state[ours + "ff_out.weight"],
                theirs + "feed_forward_norm.weight": state[ours + "ff_norm.weight"]}
    return {name: tensor.contiguous() for name, tensor in out.items()}


def run_olmo_core(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Steps of OLMo-core's ``TransformerTrainModule`` on the shared batches from the shared initial weights."""
    from olmo_core.nn.transformer import TransformerBlockType, TransformerConfig
    from olmo_core.optim import AdamWConfig, OptimGroupOverride
    from olmo_core.train.train_module import TransformerTrainModuleConfig
    from olmo_core.version import VERSION

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = torch.load(work / "batches.pt")
    model_config = TransformerConfig.llama_like(
        d_model=args.d_model, vocab_size=int(args.embedding_size), n_layers=args.layers, n_heads=args.heads,
        block_name=TransformerBlockType.reordered_norm, qk_norm=True, rope_theta=ROPE_THETA, layer_norm_eps=NORM_EPS)
    hidden = model_config.block.feed_forward.hidden_size  # type: ignore[union-attr]
    if hidden != swiglu_hidden(args.d_model):
        raise RuntimeError(f"OLMo-core's SwiGLU hidden size {hidden} differs from ours {swiglu_hidden(args.d_model)}")
    optim = AdamWConfig(lr=args.lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, group_overrides=[
        OptimGroupOverride(params=["embeddings.weight", "*norm*.weight"], opts={"weight_decay": 0.0})])
    module = TransformerTrainModuleConfig(
        rank_microbatch_size=args.batch * args.seq_len, max_sequence_length=args.seq_len, optim=optim,
        max_grad_norm=1.0).build(model_config.build(init_device="cpu"), device=torch.device("cpu"))
    sink = _MetricSink(args.batch * args.seq_len)
    module._attach_trainer(sink)  # type: ignore[arg-type]
    module.model.load_state_dict(to_olmo_core(torch.load(work / "init.pt"), args.d_model, args.layers))

    def step(ids: torch.Tensor) -> float:
        module.zero_grads()
        module.train_batch({"input_ids": ids})
        module.optim_step()
        assert sink.ce_loss is not None
        return float(sink.ce_loss)

    return timed_steps("olmo-core", step, data, args.warmup) | {
        "ran": f"olmo_core {VERSION} TransformerTrainModule.train_batch + optim_step"}


# -- shared by both sides --------------------------------------------------------------------------------------


def timed_steps(side: str, step: Any, data: torch.Tensor, warmup: int) -> dict[str, Any]:
    """Run ``step`` on every batch; time (wall and CPU) the ones after ``warmup``."""
    losses, wall, cpu = [], [], []
    for i, ids in enumerate(data):
        start, start_cpu = time.perf_counter(), time.process_time()
        losses.append(step(ids.clone()))
        if i >= warmup:
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - start_cpu)
    tokens = int(data[0].numel()) * len(wall)
    return {"side": side, "threads": torch.get_num_threads(), "torch": torch.__version__,
            "tokens_per_second": tokens / sum(wall), "wall_seconds": sum(wall), "cpu_seconds": sum(cpu),
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "losses": losses}


def locked_torch() -> str:
    """The torch version our ``uv.lock`` pins."""
    match = re.search(r'^name = "torch"\nversion = "([^"]+)"', (ROOT / "uv.lock").read_text(), re.MULTILINE)
    if match is None:
        raise RuntimeError("no torch in uv.lock")
    return match.group(1)


def ensure_venv() -> Path:
    """The Python of OLMo-core's virtual environment, created on the first run (needs the package index)."""
    python = VENV / "bin" / "python"
    probe = "import olmo_core.version, torch; print(olmo_core.version.VERSION, torch.__version__)"
    if python.exists():
        done = subprocess.run([str(python), "-c", probe], check=False, capture_output=True, text=True,
                              env=_clean_env())
        if done.returncode == 0 and done.stdout.split()[0] == OLMO_CORE_VERSION:
            return python
    torch_version = locked_torch()
    print(f"creating {VENV}: ai2-olmo-core=={OLMO_CORE_VERSION}, torch=={torch_version}",
          file=sys.stderr)
    subprocess.run(["uv", "venv", "--quiet", "--allow-existing", "--python", sys.executable, str(VENV)], check=True)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as override:
        override.write(f"torch=={torch_version}\n")  # OLMo-core 3.0.0 declares torch<2.14
    try:
        subprocess.run(["uv", "pip", "install", "--quiet", "--python", str(python),
                        f"ai2-olmo-core=={OLMO_CORE_VERSION}", f"torch=={torch_version}", "--override",
                        override.name], check=True)
    finally:
        os.unlink(override.name)
    return python


def _clean_env(threads: int | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    if threads is not None:
        env |= {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    return env


def run_side(python: str, side: str, args: argparse.Namespace, work: Path, embedding_size: int) -> dict[str, Any]:
    """One side in a fresh subprocess; its last stdout line is its JSON result."""
    command = [python, __file__, "--side", side, "--work", str(work), "--embedding-size", str(embedding_size)]
    for name in ("d_model", "layers", "heads", "seq_len", "batch", "warmup", "threads", "lr"):
        command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=_clean_env(args.threads),
                          cwd=ROOT)
    if done.returncode:
        raise RuntimeError(f"{side} side failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def prepare(args: argparse.Namespace, work: Path) -> int:
    """Write the shared batches and initial weights into ``work``; return the embedding rows."""
    from olmo_core.nn.model import OLMo

    config = olmo_config(args)
    torch.manual_seed(0)
    torch.save(OLMo(config).state_dict(), work / "init.pt")
    torch.save(real_batches(args.seq_len, args.batch, args.steps + args.warmup), work / "batches.pt")
    return config.embedding_size


def report(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]]) -> None:
    speed = {side: statistics.median(r["tokens_per_second"] for r in rs) for side, rs in runs.items()}
    cpu = {side: statistics.median(r["cpu_seconds"] / (len(r["losses"]) - args.warmup) for r in rs)
           for side, rs in runs.items()}
    memory = {side: max(r["peak_rss_mib"] for r in rs) for side, rs in runs.items()}
    ours, theirs = runs["olmo"][0], runs["olmo-core"][0]
    gaps = [abs(a - b) for a, b in zip(ours["losses"], theirs["losses"], strict=True)]
    print(f"OLMo-2 block, d_model {args.d_model}, {args.layers} layers, {args.heads} heads, SwiGLU hidden "
          f"{swiglu_hidden(args.d_model)}, untied, fp32; batch {args.batch} x {args.seq_len} real tokens; "
          f"{args.steps} timed steps after {args.warmup} warm-up, {args.rounds} round(s); threads: "
          + ", ".join(f"{side} {rs[0]['threads']}" for side, rs in runs.items()))
    for side, rs in runs.items():
        print(f"  {side}: {rs[0]['ran']} (torch {rs[0]['torch']})")
    print(f"  not run: {NOT_RUN}")
    print("| side | tokens/s (wall) | CPU s per step | peak memory (MiB) |")
    print("|---|---|---|---|")
    for side in runs:
        print(f"| {side} | {speed[side]:,.0f} | {cpu[side]:.3f} | {memory[side]:,.0f} |")
    print("\nloss curves from the same initial weights (every step, warm-up included):")
    print("| step | olmo | OLMo-core | difference |")
    print("|---|---|---|---|")
    for i, (a, b) in enumerate(zip(ours["losses"], theirs["losses"], strict=True)):
        print(f"| {i + 1} | {a:.6f} | {b:.6f} | {a - b:+.2e} |")
    ratio = speed["olmo"] / speed["olmo-core"]
    print(f"\nratio olmo / OLMo-core: {ratio:.2f}x tokens/s per wall second (target >= 1.0x); "
          f"{cpu['olmo-core'] / cpu['olmo']:.2f}x per CPU second; memory {memory['olmo'] / memory['olmo-core']:.2f}x; "
          f"loss difference at step 1 {gaps[0]:.1e}, largest over the steps {max(gaps):.1e}")
    print("RESULT " + json.dumps({
        "benchmark": f"train: OLMo-2 d{args.d_model}x{args.layers} fp32 tokens/s vs OLMo-core "
                     f"{OLMO_CORE_VERSION} TransformerTrainModule", "ratio": round(ratio, 2),
        "judged_by": "wall", "ratio_wall": round(ratio, 2), "ratio_cpu": round(cpu["olmo-core"] / cpu["olmo"], 2),
        "threads": f"{args.threads} threads on every side", "target": ">= 1.0x at equal or lower peak memory",
        "agreement": f"same initial weights and batches; loss within {max(gaps):.1e} over {len(gaps)} steps "
                     f"(step 1 {gaps[0]:.1e}); memory {memory['olmo'] / memory['olmo-core']:.2f}x",
        "ok": ratio >= 1.0 and memory["olmo"] <= memory["olmo-core"] and max(gaps) <= LOSS_TOLERANCE}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10, help="timed steps (after --warmup)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="subprocess pairs, alternating sides")
    parser.add_argument("--threads", type=int, default=2, help="torch/OpenMP threads of each side")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--embedding-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        torch.set_num_threads(args.threads)
        run = run_olmo if args.side == "olmo" else run_olmo_core
        print(json.dumps(run(args, args.work)))
        return
    python = str(ensure_venv())
    runs: dict[str, list[dict[str, Any]]] = {"olmo": [], "olmo-core": []}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        embedding_size = prepare(args, work)
        for _ in range(args.rounds):
            runs["olmo"].append(run_side(sys.executable, "olmo", args, work, embedding_size))
            runs["olmo-core"].append(run_side(python, "olmo-core", args, work, embedding_size))
    report(args, runs)


if __name__ == "__main__":
    main()
