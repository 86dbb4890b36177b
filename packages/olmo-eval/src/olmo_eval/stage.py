"""The ``evaluate`` pipeline stage: downstream accuracy and bits per byte of an earlier stage's checkpoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from olmo_core.errors import ConfigError
from olmo_core.pipeline.stage import StageContext
from olmo_core.plots import bar_plot

from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator
from olmo_eval.loading import load_eval_model
from olmo_eval.perplexity.evaluator import PerplexityEvaluator
from olmo_eval.perplexity.heldout import HELD_OUT_SETS
from olmo_eval.results import write_downstream, write_perplexity
from olmo_eval.sources import build_tasks, read_eval_documents

__all__ = ["EvaluateStage", "EvaluateStageConfig"]


@dataclass(kw_only=True)
class EvaluateStageConfig:
    """Options of the evaluate stage (small by default: minutes on 2 CPU cores for a tiny model)."""

    checkpoint_of: list[str] = field(default_factory=lambda: ["pretrain", "sft", "dpo"])
    """Stages whose ``checkpoint`` result is evaluated, side by side, in this order (those that ran)."""
    newest_only: bool = False
    """Evaluate only the last of them that ran."""
    tasks: list[str] = field(default_factory=lambda: ["arc_easy", "copa", "hellaswag", "piqa", "sciq"])
    """Downstream tasks."""
    limit: int | None = 60
    """Documents per task."""
    sets: dict[str, Any] = field(default_factory=lambda: dict(HELD_OUT_SETS))
    """Held-out perplexity sets (source -> metadata field naming a document's domain)."""
    sources: list[str] = field(default_factory=lambda: ["c4", "wikipedia", "bible"])
    """Which of ``sets`` to measure (``[]``: no perplexity); the others hold long documents that take
    minutes on a CPU."""
    max_documents: int | None = 10
    """Most held-out documents per source."""


LABELS = {"pretrain": "base", "sft": "SFT", "dpo": "DPO"}
"""How the report names the model of each stage."""


class EvaluateStage:
    """Evaluate the run's models (base, SFT, DPO: whichever ran) on the same tasks and held-out text:
    ``<stage>/<model stage>/downstream`` and ``.../perplexity`` hold each one's results, samples and tables;
    the report gets accuracy and bits per byte side by side, beside chance, and their figures."""

    def __init__(self, config: EvaluateStageConfig) -> None:
        self.config = config

    def _checkpoints(self, context: StageContext) -> list[tuple[str, str]]:
        found = [(stage, str(context.results[stage]["checkpoint"])) for stage in self.config.checkpoint_of
                 if "checkpoint" in context.results.get(stage, {})]
        if not found:
            raise ConfigError(f"stage '{context.name}' evaluates the checkpoints of "
                              f"{', '.join(self.config.checkpoint_of)}, and none of them ran before it")
        return found[-1:] if self.config.newest_only else found

    def run(self, context: StageContext) -> dict[str, Any]:
        c = self.config
        tasks = build_tasks(c.tasks)
        unknown = [s for s in c.sources if s not in c.sets]
        if unknown:
            raise ConfigError(f"stages.{context.name}.sources names {', '.join(unknown)}, not in its sets "
                              f"({', '.join(c.sets)})")
        sets = {s: c.sets[s] for s in c.sources}
        accuracy: dict[str, dict[str, float]] = {}
        chance: dict[str, float] = {}
        metric: dict[str, str] = {}
        bpb: dict[str, dict[str, float]] = {}
        bpb_mean: dict[str, float] = {}
        evaluated = []
        for stage, checkpoint in self._checkpoints(context):
            label = LABELS.get(stage, stage)
            loaded = load_eval_model(checkpoint)
            meta = {"checkpoint": checkpoint, "stage": stage, "step": loaded.step}
            downstream = DownstreamEvaluator(DownstreamEvalConfig(limit=c.limit)).evaluate(
                loaded.model, loaded.tokenizer, tasks)
            write_downstream(context.stage_dir / stage / "downstream", downstream, meta)
            accuracy[label] = {r.task: r.accuracy for r in downstream}
            chance.update({r.task: r.chance for r in downstream})
            metric.update({r.task: r.metric for r in downstream})
            if sets:
                ppl = PerplexityEvaluator().evaluate(loaded.model, loaded.tokenizer,
                                                     read_eval_documents(None, sets=sets,
                                                                         max_documents=c.max_documents))
                write_perplexity(context.stage_dir / stage / "perplexity", ppl, meta)
                bpb[label] = {s: f["bits_per_byte"] for s, f in ppl.sources.items()}
                bpb_mean[label] = ppl.bits_per_byte
            evaluated.append({"stage": stage, "model": label, "checkpoint": checkpoint, "step": loaded.step})
        labels = list(accuracy)
        lines = ["## Evaluation", "",
                 "Downstream accuracy (each task's primary metric, the paper's choice) of "
                 + ", ".join(f"{e['model']} (step {e['step']})" for e in evaluated) + ", beside chance:", "",
                 "| task | metric | chance | " + " | ".join(labels) + " |", "|---|---|---|" + "---|" * len(labels)]
        for task in chance:
            lines.append(f"| {task} | {metric[task]} | {chance[task]:.3f} | "
                         + " | ".join(f"{accuracy[m][task]:.3f}" for m in labels) + " |")
        figures = [bar_plot(context.stage_dir / "accuracy.png", {**accuracy, "chance": chance},
                            title="downstream accuracy", ylabel="accuracy")]
        result: dict[str, Any] = {"evaluated": evaluated, "accuracy": accuracy, "chance": chance}
        for label in labels:
            result[f"{label}_mean_accuracy"] = round(sum(accuracy[label].values()) / len(accuracy[label]), 4)
        if bpb:
            sources = list(next(iter(bpb.values())))
            lines += ["", "Bits per byte on held-out text (lower is better):", "",
                      "| held-out source | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
            lines += [f"| {s} | " + " | ".join(f"{bpb[m][s]:.3f}" for m in labels) + " |" for s in sources]
            lines.append("| **mean** | " + " | ".join(f"**{bpb_mean[m]:.3f}**" for m in labels) + " |")
            figures.append(bar_plot(context.stage_dir / "bits_per_byte.png", bpb, title="bits per byte, held out",
                                    ylabel="bits per byte"))
            result["bits_per_byte"] = bpb
            result.update({f"{label}_bits_per_byte": round(v, 4) for label, v in bpb_mean.items()})
        lines += ["", *(f"![{f.stem}]({f.relative_to(context.run_dir)})" for f in figures)]
        result["report"] = "\n".join(lines)
        return result
