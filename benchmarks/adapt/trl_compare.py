"""SFT and DPO, olmo-adapt against TRL, on the same tiny model and the same batch, in one process.

A tiny OLMo (random init; policy seed 0, reference seed 1) is exported to transformers' OlmoForCausalLM so that
both sides hold identical weights. Real pairs and conversations from the built-in sets are tokenized once with
olmo's Tulu template; TRL's collators receive exactly those token ids (``prompt_ids``/``chosen_ids``/
``rejected_ids``; ``input_ids``/``labels``). Printed: TRL's and olmo's DPO loss and rewards metrics
(``dpo`` = TRL ``sigmoid``, ``dpo_norm`` = TRL ``sigmoid_norm``; rewards compared for ``dpo``, where both use
summed log-probs) and the SFT masked loss, with their differences, with float64 weights on both sides (olmo
then computes in float64; transformers' fused LM head and loss, which TRL calls, still compute log-probs in fp32,
so the differences left are TRL's fp32 rounding of sums of hundreds of log-probs); then, in fp32, DPO optimizer
steps on that batch per wall second and per CPU second, every side in this process on the same pinned torch threads
(``--threads``): olmo's trainer (cached reference log-probs) against TRL with its reference model (default) and
with precomputed reference log-probs. The verdict is olmo's ratio over TRL's default, by wall clock unless
``--judge cpu``.

    uv run --group bench python benchmarks/adapt/trl_compare.py [--pairs 8] [--max-length 256] [--steps 5]
        [--threads N] [--judge wall|cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from olmo_core.cli import invoke
from olmo_core.model_io import load_model
from olmo_core.plugins import get_host

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import timing

TINY = ["model.d_model=64", "model.n_heads=4", "model.n_layers=2", "model.mlp_hidden_size=256",
        "model.max_sequence_length=512"]
METRICS = ("loss", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins")


def checkpoints(root: Path) -> dict[str, Path]:
    paths = {}
    for name, seed in (("policy", 0), ("reference", 1)):
        invoke(["model", "init", f"output={root / name}", f"seed={seed}", *TINY])
        invoke(["model", "export-hf", f"checkpoint={root / name}", f"output={root / (name + '-hf')}"])
        paths[name] = root / name
    return paths


def olmo_dpo(paths: dict[str, Path], pairs: list[Any], loss: str, beta: float,
             dtype: torch.dtype = torch.float64) -> tuple[dict[str, float], Any]:
    from olmo_adapt.dpo.data import collate_pairs
    from olmo_adapt.dpo.objective import DPOObjective
    from olmo_adapt.dpo.reference import reference_logps

    reference = load_model(paths["reference"]).model.to(dtype)
    objective = DPOObjective(loss=loss, beta=beta)
    objective.reference = reference_logps(reference, pairs, rows=len(pairs), pad_id=1, device=torch.device("cpu"))
    policy = load_model(paths["policy"]).model.to(dtype).train()
    batch = collate_pairs(pairs, pad_id=1)
    with torch.no_grad():
        _, sums = objective.loss(policy, batch, objective.normalizer(batch))
    return objective.metrics({k: float(v) for k, v in sums.items()}, len(pairs)), objective


def trl_trainer(paths: dict[str, Path], root: Path, loss: str, beta: float, batch_size: int,
                precompute: bool = False, dtype: torch.dtype = torch.float32) -> Any:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    tokenizer = AutoTokenizer.from_pretrained(root / "policy-hf")
    rows = Dataset.from_list([{"prompt": "Hi", "chosen": " yes", "rejected": " no"}] * batch_size)
    args = DPOConfig(output_dir=str(root / "trl"), per_device_train_batch_size=batch_size, beta=beta,
                     loss_type=[loss], max_length=None, bf16=False, gradient_checkpointing=False, use_cpu=True,
                     report_to="none", learning_rate=1e-4, lr_scheduler_type="constant", max_grad_norm=1.0,
                     precompute_ref_log_probs=precompute, disable_tqdm=True)
    return DPOTrainer(model=AutoModelForCausalLM.from_pretrained(root / "policy-hf", dtype=dtype),
                      ref_model=AutoModelForCausalLM.from_pretrained(root / "reference-hf", dtype=dtype), args=args,
                      train_dataset=rows, processing_class=tokenizer)


def trl_examples(pairs: list[Any], reference: torch.Tensor | None = None) -> list[dict[str, Any]]:
    examples = []
    for pair in pairs:
        start = next(t for t, label in enumerate(pair.chosen.labels) if label != -100) + 1
        example = {"prompt_ids": pair.chosen.ids[:start], "chosen_ids": pair.chosen.ids[start:],
                   "rejected_ids": pair.rejected.ids[start:]}
        assert pair.rejected.ids[:start] == example["prompt_ids"]
        if reference is not None:
            example.update(ref_chosen_logps=float(reference[pair.index, 0]),
                           ref_rejected_logps=float(reference[pair.index, 1]))
        examples.append(example)
    return examples


def trl_dpo(trainer: Any, pairs: list[Any]) -> dict[str, float]:
    batch = trainer.data_collator(trl_examples(pairs))
    trainer._metrics["train"].clear()
    trainer.model.train()
    with torch.no_grad():
        loss = trainer.compute_loss(trainer.model, batch)
    metrics = {k: v[-1] for k, v in trainer._metrics["train"].items()}
    return {"loss": float(loss), **{k: metrics[k] for k in METRICS[1:]}}


def sft_losses(paths: dict[str, Path], root: Path, template: Any) -> tuple[float, float]:
    from datasets import Dataset
    from olmo_adapt.datasets import load_conversations
    from olmo_adapt.examples import Skips
    from olmo_adapt.sft.batches import padded
    from olmo_adapt.sft.method import tokenize_conversations
    from olmo_train.objective import LanguageModelObjective
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    records = [r for r in load_conversations("alpaca_en_demo")[:40]][:8]
    examples = tokenize_conversations(records, template, max_length=512, overlong="skip", skips=Skips())
    batch = padded(examples, pad_id=1)
    objective = LanguageModelObjective()
    model = load_model(paths["policy"]).model.double()
    with torch.no_grad():
        micro_batch = next(objective.micro_batches(batch, len(examples)))
        ours, _ = objective.loss(model, micro_batch, objective.normalizer(batch))
    tokenizer = AutoTokenizer.from_pretrained(root / "policy-hf")
    args = SFTConfig(output_dir=str(root / "trl-sft"), per_device_train_batch_size=len(examples), bf16=False,
                     gradient_checkpointing=False, use_cpu=True, report_to="none",
                     max_length=None, disable_tqdm=True)
    policy = AutoModelForCausalLM.from_pretrained(root / "policy-hf", dtype=torch.float64)
    trainer = SFTTrainer(model=policy, args=args,
                         train_dataset=Dataset.from_list([{"input_ids": [1, 2, 3]}]), processing_class=tokenizer)
    rows = []
    for example in examples:
        targets = [-100] + [label if label != -100 else -100 for label in example.labels[:-1]]
        rows.append({"input_ids": example.ids, "labels": targets})  # TRL's labels: the token itself, shifted inside
    trl_batch = trainer.data_collator(rows)
    trainer.model.train()
    with torch.no_grad():
        theirs = trainer.compute_loss(trainer.model, trl_batch)
    return float(ours), float(theirs)


def run_steps(step: Any, steps: int) -> timing.Timing:
    """The timing of ``steps`` calls of ``step``, after one untimed warm-up call."""
    step()
    with timing.measure() as spent:
        for _ in range(steps):
            step()
    return spent


def olmo_steps(paths: dict[str, Path], root: Path, objective: Any, pairs: list[Any], steps: int) -> timing.Timing:
    from olmo_adapt.dpo.data import collate_pairs
    from olmo_adapt.dpo.method import DPOConfig
    from olmo_adapt.runner import train_config
    from olmo_train.trainer import Trainer

    host = get_host()
    _, backend = host.registry("train_backends").resolve("single")
    settings = DPOConfig(lr=1e-4, warmup_ratio=0.0, grad_clip=1.0, batch_size=len(pairs),
                         micro_batch_size=len(pairs))
    config = train_config(settings, checkpoint=paths["policy"], steps=steps + 1, backend=backend, callbacks={},
                          seed=0, threads=None)
    trainer = Trainer(config, run_dir=root / "runs" / "olmo", objective=objective,
                      loader=[collate_pairs(pairs, pad_id=1)], callbacks=())
    batch = collate_pairs(pairs, pad_id=1)
    trainer.model.train()
    return run_steps(lambda: trainer.train_step(dict(batch)), steps)


def trl_steps(trainer: Any, pairs: list[Any], steps: int, reference: torch.Tensor | None = None) -> timing.Timing:
    trainer.create_optimizer_and_scheduler(num_training_steps=steps + 1)
    trainer.current_gradient_accumulation_steps = 1
    batch = trainer.data_collator(trl_examples(pairs, reference))
    trainer.model.train()

    def step() -> None:
        trainer.training_step(trainer.model, dict(batch))
        trainer.accelerator.clip_grad_norm_(trainer.model.parameters(), 1.0)
        trainer.optimizer.step()
        trainer.optimizer.zero_grad()

    return run_steps(step, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--steps", type=int, default=5)
    timing.add_arguments(parser)
    options = parser.parse_args()
    threads = timing.pin_threads(options.threads)
    for key in ("HF_HUB_OFFLINE", "TQDM_DISABLE", "HF_DATASETS_DISABLE_PROGRESS_BARS"):
        os.environ.setdefault(key, "1")
    torch.manual_seed(0)
    import transformers
    import trl
    from olmo_adapt.datasets import load_pairs
    from olmo_adapt.dpo.data import tokenize_pairs
    from olmo_adapt.examples import Skips
    from olmo_core.chat_template import TuluTemplate
    from olmo_core.tokenizer import load_builtin

    template = TuluTemplate(load_builtin("olmo-v1.5"))
    pairs = tokenize_pairs(load_pairs("dpo_en_demo")[: options.pairs], template, max_length=options.max_length,
                           overlong="truncate", skips=Skips())
    report: dict[str, Any] = {"versions": {"trl": trl.__version__, "transformers": transformers.__version__,
                                           "torch": torch.__version__}, "pairs": len(pairs),
                              "max_length": options.max_length, "threads": threads}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = checkpoints(root)
        for ours, theirs, beta in (("dpo", "sigmoid", 0.1), ("dpo_norm", "sigmoid_norm", 5.0)):
            mine, _ = olmo_dpo(paths, pairs, ours, beta)
            other = trl_dpo(trl_trainer(paths, root, theirs, beta, len(pairs), dtype=torch.float64), pairs)
            keys = METRICS if ours == "dpo" else ("loss",)
            report[ours] = {k: {"olmo": mine[k], "trl": other[k], "diff": abs(mine[k] - other[k])} for k in keys}
        ours_sft, theirs_sft = sft_losses(paths, root, template)
        report["sft_masked_loss"] = {"olmo": ours_sft, "trl": theirs_sft, "diff": abs(ours_sft - theirs_sft)}
        _, dpo_objective = olmo_dpo(paths, pairs, "dpo", 0.1, dtype=torch.float32)
        sides = {"olmo": olmo_steps(paths, root, dpo_objective, pairs, options.steps),
                 "trl": trl_steps(trl_trainer(paths, root, "sigmoid", 0.1, len(pairs)), pairs, options.steps),
                 "trl_precomputed_reference": trl_steps(trl_trainer(paths, root, "sigmoid", 0.1, len(pairs)), pairs,
                                                        options.steps, dpo_objective.reference)}
    rates = {name: spent.rates(options.steps) for name, spent in sides.items()}
    verdict = timing.ratios(rates["olmo"], rates["trl"], options.judge)
    report["dpo_steps"] = {
        "steps": options.steps, "threads": timing.threads_note(sides),
        **{name: {**spent.as_dict(), "steps_per_wall_second": rates[name]["wall"],
                  "steps_per_cpu_second": rates[name]["cpu"]} for name, spent in sides.items()},
        "vs_trl": verdict, "vs_trl_precomputed": timing.ratios(rates["olmo"], rates["trl_precomputed_reference"],
                                                               options.judge)}
    print(json.dumps(report, indent=2))
    diffs = {f"{m} {k}": (v["diff"], abs(v["trl"])) for m in ("dpo", "dpo_norm") for k, v in report[m].items()}
    diffs["sft loss"] = (report["sft_masked_loss"]["diff"], abs(report["sft_masked_loss"]["trl"]))
    for name, (diff, size) in diffs.items():
        print(f"{name:>24}: |olmo - trl| = {diff:.2e} (relative {diff / max(size, 1e-12):.1e})")
    worst = max(diff / max(size, 1.0) for diff, size in diffs.values())
    print(f"largest difference {worst:.2e} relative to max(1, |value|) ({'within' if worst <= 1e-5 else 'OUTSIDE'} "
          f"1e-5)")
    print(f"\nDPO steps, threads pinned: {timing.describe_threads(threads)}; {report['dpo_steps']['threads']}")
    print(timing.side_table({name: (spent, options.steps) for name, spent in sides.items()}, "steps"))
    print(f"{timing.verdict_line('olmo', 'TRL', verdict, 'DPO steps')} (target 1.5x); against TRL with precomputed "
          f"reference log-probs: {report['dpo_steps']['vs_trl_precomputed']['ratio']}x")
    print("RESULT " + json.dumps({"benchmark": "adapt: DPO steps/s vs TRL", **verdict,
                                  "threads": report["dpo_steps"]["threads"], "target": f">= 1.5x ({options.judge})",
                                  "agreement": f"DPO/SFT values within {worst:.1e} (relative)",
                                  "ok": verdict["ratio"] >= 1.5 and worst <= 1e-5}))


if __name__ == "__main__":
    main()
