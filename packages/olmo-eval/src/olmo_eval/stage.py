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

    checkpoint_of: list[str] = field(default_factory=lambda: ["dpo", "sft", "pretrain"])
    """Stages whose ``checkpoint`` result may be evaluated: the first of them that ran is taken."""
    tasks: list[str] = field(default_factory=lambda: ["arc_easy", "copa", "hellaswag", "piqa", "sciq"])
    """Downstream tasks."""
    limit: int | None = 200
    """Documents per task."""
    sets: dict[str, Any] = field(default_factory=lambda: dict(HELD_OUT_SETS))
    """Held-out perplexity sets (source -> domain field); empty to skip perplexity."""
    max_documents: int | None = 20
    """Most held-out documents per source."""


class EvaluateStage:
    """Evaluate the newest checkpoint of the run: ``<stage>/downstream`` and ``<stage>/perplexity`` hold the
    results, samples and tables; the report gets a table of accuracy beside chance and bits per byte, and a
    figure."""

    def __init__(self, config: EvaluateStageConfig) -> None:
        self.config = config

    def _checkpoint(self, context: StageContext) -> tuple[str, str]:
        for stage in self.config.checkpoint_of:
            if "checkpoint" in context.results.get(stage, {}):
                return stage, str(context.results[stage]["checkpoint"])
        raise ConfigError(f"stage '{context.name}' evaluates the checkpoint of one of "
                          f"{', '.join(self.config.checkpoint_of)}, and none of them ran before it")

    def run(self, context: StageContext) -> dict[str, Any]:
        c = self.config
        stage, checkpoint = self._checkpoint(context)
        loaded = load_eval_model(checkpoint)
        meta = {"checkpoint": checkpoint, "stage": stage, "step": loaded.step}
        downstream = DownstreamEvaluator(DownstreamEvalConfig(limit=c.limit)).evaluate(
            loaded.model, loaded.tokenizer, build_tasks(c.tasks))
        write_downstream(context.stage_dir / "downstream", downstream, meta)
        lines = [f"## Evaluation ({stage} checkpoint, step {loaded.step})", "",
                 "| task | metric | accuracy | chance |", "|---|---|---|---|"]
        lines += [f"| {r.task} | {r.metric} | {r.accuracy:.3f} | {r.chance:.3f} |" for r in downstream]
        figure = bar_plot(context.stage_dir / "accuracy.png",
                          {"model": {r.task: r.accuracy for r in downstream},
                           "chance": {r.task: r.chance for r in downstream}},
                          title="downstream accuracy (primary metric)", ylabel="accuracy")
        result: dict[str, Any] = {"checkpoint": checkpoint, "evaluated_stage": stage,
                                  "accuracy": {r.task: r.accuracy for r in downstream},
                                  "chance": {r.task: r.chance for r in downstream}}
        if c.sets:
            ppl = PerplexityEvaluator().evaluate(loaded.model, loaded.tokenizer,
                                                 read_eval_documents(None, sets=c.sets, max_documents=c.max_documents))
            write_perplexity(context.stage_dir / "perplexity", ppl, meta)
            lines += ["", "| held-out source | bits per byte | token perplexity | documents |", "|---|---|---|---|"]
            lines += [f"| {s} | {f['bits_per_byte']:.3f} | {f['ppl_token']:.1f} | {f['documents']} |"
                      for s, f in ppl.sources.items()]
            result["bits_per_byte"] = ppl.bits_per_byte
        lines += ["", f"![accuracy]({figure.relative_to(context.run_dir)})"]
        result["report"] = "\n".join(lines)
        return result
