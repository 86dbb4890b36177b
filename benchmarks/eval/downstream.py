"""Downstream scoring, olmo against lm-evaluation-harness, on the same exported model and task data.

A seeded OLMo (``olmo-tiny`` shape, the OLMo v1.5 tokenizer) is saved as an olmo checkpoint and exported with
``olmo model export-hf``. The real validation documents of eight tasks (OLMo's templates) are written once as
JSON lines of context, choices and gold; lm-evaluation-harness reads them as custom local tasks (offline,
``hf`` model backend on the exported directory) and olmo reads the same files as task files and the same
exported directory. The benchmark checks that every (document, choice) log-likelihood agrees to 1e-4 and that
the accuracies (raw and per character) are identical, and reports each side's scoring (building and running the
requests, not start-up) in wall and CPU seconds, with both sides in this process on the same pinned torch threads
(``--threads``): requests per wall second and per CPU second, both ratios and the judged one (wall clock unless
``--judge cpu``).
``--arch`` adds random two-layer GPT-2, GPT-NeoX and Llama models built offline (:mod:`olmo_eval.testing`, saved
with the same tokenizer), which olmo scores through its ``transformers`` eval runtime; one row per architecture.

    uv run --group bench python benchmarks/eval/downstream.py [--limit N] [--arch olmo|gpt2|gpt_neox|llama|all]
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
from olmo_core.plugins import get_host
from olmo_core.tokenizer import load_tokenizer
from olmo_eval.testing import ARCHITECTURES, save_random

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import timing

TASKS = ["arc_easy", "arc_challenge", "boolq", "copa", "hellaswag", "openbookqa", "piqa", "sciq"]
YAML = """task: {name}
dataset_path: json
dataset_name: null
dataset_kwargs:
  data_files:
    test: {path}
output_type: multiple_choice
test_split: test
doc_to_text: "{{{{context}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: gold
target_delimiter: " "
metric_list:
  - metric: acc
  - metric: acc_norm
"""


def make_model(workdir: Path) -> Path:
    """An olmo checkpoint of a seeded olmo-tiny-shaped model (2048 positions, so nothing is truncated), exported
    to a transformers directory; returns the export."""
    from olmo_core.model_commands import ExportConfig, export_hf_command
    from olmo_core.model_io import save_model

    registry = get_host().registry("models")
    _, config = registry.resolve("olmo-tiny")
    config.max_sequence_length = 2048
    torch.manual_seed(1234)
    model = registry.build(config)
    save_model(workdir / "olmo" / "step000000", model, config, tokenizer=load_tokenizer("olmo-v1.5"))
    export_hf_command(ExportConfig(checkpoint=str(workdir / "olmo" / "step000000"), output=str(workdir / "hf")))
    return workdir / "hf"


def write_tasks(workdir: Path, limit: int) -> dict[str, Path]:
    """Each task's first ``limit`` documents (a seeded subset) as JSON lines of context, choices and gold."""
    from olmo_eval.tasks.base import subsample

    registry = get_host().registry("tasks")
    files = {}
    for name in TASKS:
        path = workdir / "data" / f"{name}_bench.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w") as f:
            for instance in subsample(registry.build(name).instances(), limit, 1234):
                f.write(json.dumps({"context": instance.contexts[0], "gold": instance.gold,
                                    "choices": [c.removeprefix(" ") for c in instance.continuations]}) + "\n")
        (workdir / "tasks").mkdir(exist_ok=True)
        (workdir / "tasks" / f"{name}_bench.yaml").write_text(YAML.format(name=f"{name}_bench", path=path))
        files[name] = path
    return files


def run_olmo(hf_dir: Path, files: dict[str, Path]) -> tuple[dict[str, Any], timing.Timing, int, str, int]:
    """Scores of the model that ``olmo eval downstream checkpoint=<hf_dir>`` loads: records by task, the timing,
    requests, the eval runtime and the model's sequence length."""
    from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator, model_max_length
    from olmo_eval.loading import load_eval_model
    from olmo_eval.tasks.task_file import TaskFile, TaskFileConfig

    loaded = load_eval_model(hf_dir)
    tasks = [TaskFile(TaskFileConfig(path=str(path), name=name)) for name, path in files.items()]
    for task in tasks:
        task.instances()
    evaluator = DownstreamEvaluator(DownstreamEvalConfig(limit=None, unconditional=False))
    results, spent = timing.timed(lambda: evaluator.evaluate(loaded.model, loaded.tokenizer, tasks).tasks)
    out = {r.task: r for r in results}
    return out, spent, sum(len(r.records) for r in results), loaded.kind, model_max_length(loaded.model)


def run_lm_eval(hf_dir: Path, workdir: Path, softmax_dtype: str, batch_size: int,
                max_length: int) -> tuple[dict[str, Any], dict[str, Any], timing.Timing, int]:
    import lm_eval
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    lm = HFLM(pretrained=str(hf_dir), device="cpu", dtype="float32", batch_size=batch_size, add_bos_token=False,
              max_length=max_length, softmax_dtype=softmax_dtype)
    spent = {"timing": timing.Timing(), "requests": 0}
    scoring = lm.loglikelihood

    def timed_scoring(requests: Any, *args: Any, **kwargs: Any) -> Any:
        with timing.measure() as call:
            out = scoring(requests, *args, **kwargs)
        spent["timing"] += call
        spent["requests"] += len(requests)
        return out

    lm.loglikelihood = timed_scoring  # type: ignore[method-assign]
    manager = TaskManager(include_path=str(workdir / "tasks"))
    results = lm_eval.simple_evaluate(model=lm, tasks=[f"{t}_bench" for t in TASKS], task_manager=manager,
                                      log_samples=True, bootstrap_iters=0)
    return results["results"], results["samples"], spent["timing"], spent["requests"]


def compare(arch: str, hf_dir: Path, workdir: Path, files: dict[str, Path], args: argparse.Namespace) -> dict[str, Any]:
    """Both sides' scores of one model: the worst log-likelihood difference, accuracies and speeds."""
    ours, ours_timing, ours_requests, kind, max_length = run_olmo(hf_dir, files)
    theirs, samples, theirs_timing, theirs_requests = run_lm_eval(hf_dir, workdir, args.softmax_dtype,
                                                                  args.batch_size, max_length)
    worst, compared = 0.0, 0
    accuracies: dict[str, dict[str, float]] = {}
    for name in TASKS:
        records = {(r["doc_id"], r["choice"]): r["ll"] for r in ours[name].records}
        for sample in samples[f"{name}_bench"]:
            for choice, response in enumerate(sample["resps"]):
                worst = max(worst, abs(float(response[0][0]) - records[(sample["doc_id"], choice)]))
                compared += 1
        peer = theirs[f"{name}_bench"]
        accuracies[name] = {"olmo_acc": ours[name].metrics["acc_raw"], "lm_eval_acc": peer["acc,none"],
                            "olmo_acc_per_char": ours[name].metrics["acc_per_char"],
                            "lm_eval_acc_norm": peer["acc_norm,none"]}
    identical = all(a["olmo_acc"] == a["lm_eval_acc"] and a["olmo_acc_per_char"] == a["lm_eval_acc_norm"]
                    for a in accuracies.values())
    ours_rates, theirs_rates = ours_timing.rates(ours_requests), theirs_timing.rates(theirs_requests)
    print(f"\n{arch} ({kind}), {timing.threads_note({'olmo': ours_timing, 'lm-eval': theirs_timing})}:")
    print(timing.side_table({"olmo": (ours_timing, ours_requests), "lm-eval": (theirs_timing, theirs_requests)}, "req"))
    return {
        "arch": arch, "olmo_runtime": kind, "max_length": max_length, "requests": ours_requests,
        "lm_eval_requests": theirs_requests, "compared_loglikelihoods": compared, "max_abs_ll_difference": worst,
        "agree_1e-4": worst <= 1e-4, "accuracies_identical": identical,
        "olmo": {**ours_timing.as_dict(), "requests_per_wall_second": round(ours_rates["wall"], 1),
                 "requests_per_cpu_second": round(ours_rates["cpu"], 1)},
        "lm_eval": {**theirs_timing.as_dict(), "requests_per_wall_second": round(theirs_rates["wall"], 1),
                    "requests_per_cpu_second": round(theirs_rates["cpu"], 1)},
        "threads": timing.threads_note({"olmo": ours_timing, "lm-eval": theirs_timing}),
        **timing.ratios(ours_rates, theirs_rates, args.judge),
        "accuracies": accuracies,
    }


def main() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=100, help="documents per task")
    parser.add_argument("--arch", default="all", choices=["olmo", *ARCHITECTURES, "all"],
                        help="the exported OLMo, a random model of another architecture, or all of them")
    parser.add_argument("--softmax-dtype", default="float64", choices=["float32", "float64"],
                        help="lm-evaluation-harness's log-softmax precision (float32 drifts ~1e-5 per token)")
    parser.add_argument("--batch-size", type=int, default=16, help="lm-evaluation-harness's batch size")
    timing.add_arguments(parser)
    args = parser.parse_args()
    threads = timing.pin_threads(args.threads)
    for key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ[key] = "1"
    archs = ["olmo", *ARCHITECTURES] if args.arch == "all" else [args.arch]
    with tempfile.TemporaryDirectory(prefix="olmo-eval-bench-") as tmp:
        workdir = Path(tmp)
        os.environ["HF_HOME"] = str(workdir / "hf_home")
        files = write_tasks(workdir, args.limit)
        rows = [compare(arch, make_model(workdir) if arch == "olmo" else
                        save_random(arch, workdir / arch, load_tokenizer("olmo-v1.5")), workdir, files, args)
                for arch in archs]
    result = {"benchmark": "downstream log-likelihoods vs lm-evaluation-harness", "tasks": len(TASKS),
              "documents_per_task": args.limit, "lm_eval_softmax_dtype": args.softmax_dtype,
              "lm_eval_batch_size": args.batch_size, "threads": threads, "judged_by": args.judge, "models": rows}
    print(json.dumps(result, indent=2))
    print(f"\nthreads pinned: {timing.describe_threads(threads)}; judged by {args.judge} clock (olmo / lm-eval "
          f"requests per {args.judge} second)")
    print("| arch | olmo runtime | threads | log-likelihoods | max abs difference | accuracies equal | "
          "olmo req/wall s | lm-eval req/wall s | olmo req/CPU s | lm-eval req/CPU s | ratio wall | ratio CPU |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['arch']} | {r['olmo_runtime']} | {r['threads']} | {r['compared_loglikelihoods']} | "
              f"{r['max_abs_ll_difference']:.1e} | {'yes' if r['accuracies_identical'] else 'no'} | "
              f"{r['olmo']['requests_per_wall_second']} | {r['lm_eval']['requests_per_wall_second']} | "
              f"{r['olmo']['requests_per_cpu_second']} | {r['lm_eval']['requests_per_cpu_second']} | "
              f"{r['ratio_wall']}x | {r['ratio_cpu']}x |")
    worst = max(r["max_abs_ll_difference"] for r in rows)
    identical = all(r["accuracies_identical"] for r in rows)
    ratio = min(r["ratio"] for r in rows)
    notes = sorted({r["threads"] for r in rows})
    print("RESULT " + json.dumps({"benchmark": "eval: downstream requests/s vs lm-evaluation-harness "
                                               f"({', '.join(archs)}; lowest ratio)",
                                  "judged_by": args.judge, "ratio": ratio,
                                  "ratio_wall": min(r["ratio_wall"] for r in rows),
                                  "ratio_cpu": min(r["ratio_cpu"] for r in rows), "threads": "; ".join(notes),
                                  "target": f">= 2x ({args.judge})",
                                  "agreement": f"log-likelihoods within {worst:.1e}; accuracies "
                                               f"{'identical' if identical else 'differ'}",
                                  "ok": ratio >= 2 and worst <= 1e-4 and identical}))
    return result


if __name__ == "__main__":
    main()
