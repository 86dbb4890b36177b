"""The adaptation jobs: ``sft`` (``olmo adapt sft``), ``dpo`` (``olmo adapt dpo``) and ``adapt`` (``olmo adapt
method=<name>``), each turning a checkpoint into an adapted checkpoint.

Every method is built through the ``adapters`` registry (``method=<name>`` selects a method or one of its
presets, ``method.<option>=...`` sets its options) and trained on olmo-train's trainer: checkpoints, exact
resume, ``metrics.jsonl``, plots. In ``olmo pipeline``, sft starts from the latest checkpoint before it
(pretraining's) and dpo from sft's.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from olmo_core.artifacts import Checkpoint, checkpoint_step_dir
from olmo_core.config import NAME_KEY, component, components, non_negative, positive
from olmo_core.errors import ConfigError
from olmo_core.jobs import Job, JobResult, Report, Slot, markdown_table
from olmo_core.plugins import get_host

from olmo_train.callbacks import DEFAULT_CALLBACKS

__all__ = ["SAMPLE_PROMPT", "AdaptJob", "AdaptJobConfig", "DPOJob", "DPOJobConfig", "SFTJob", "SFTJobConfig",
           "check_method", "sample_conversation"]

log = logging.getLogger(__name__)

SAMPLE_PROMPT = "Give three tips for staying healthy."
_PREFERENCE = ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")


@dataclass(kw_only=True)
class AdaptJobConfig:
    """Options of ``olmo adapt``."""

    method: Any = component("adapters", default="sft", help="adaptation method or preset: sft, dpo, ...")
    tokenizer: str | None = None
    """The tokenizer (default: the checkpoint's own; another one is refused)."""
    backend: Any = component("train_backends", default="single", help="where and how to train")
    callbacks: Any = components("callbacks", default=DEFAULT_CALLBACKS, help="what runs around each step")
    seed: int = non_negative(0)
    """Seed of the data order."""
    threads: int | None = positive(None)
    """CPU threads for torch (default: torch's choice)."""
    sample_prompt: str = SAMPLE_PROMPT
    """A message the adapted model answers in the report (at most 48 tokens, sampled with a fixed seed); empty
    for none."""


def _method_alone(method: str, help: str) -> Any:
    """The ``method`` field of the command that runs ``method`` alone (and its presets): its --help lists no other
    method (the ``offered`` key that :mod:`olmo_core.cli.help` reads)."""
    selects = component("adapters", default=method, help=help)
    return dataclasses.field(default=selects.default, metadata={**selects.metadata, "offered": (method,)})


@dataclass(kw_only=True)
class SFTJobConfig(AdaptJobConfig):
    """Options of ``olmo adapt sft``."""

    method: Any = _method_alone("sft", help="sft or one of its presets (sft-olmo-7b)")

    def __post_init__(self) -> None:
        check_method("adapt sft", "sft", getattr(self.method, NAME_KEY, None))


@dataclass(kw_only=True)
class DPOJobConfig(AdaptJobConfig):
    """Options of ``olmo adapt dpo``."""

    method: Any = _method_alone("dpo", help="dpo or one of its presets (dpo-olmo-7b, dpo-tulu3)")

    def __post_init__(self) -> None:
        check_method("adapt dpo", "dpo", getattr(self.method, NAME_KEY, None))


def check_method(command: str, method: str, chosen: str | None) -> None:
    """Refuse ``chosen`` (the selected method's name; ``None``: not selected yet) unless it is ``method``."""
    if chosen is not None and chosen != method:
        raise ConfigError(f"`olmo {command}` (and a pipeline's {method} stage) runs {method} or its presets, not "
                          f"'{chosen}': {_where_method_runs(chosen)}")


def sample_conversation(checkpoint: str, prompt: str, *, max_new_tokens: int = 48) -> str:
    """The checkpoint's answer to ``prompt`` (sampled: temperature 0.8, top-p 0.95, seed 0)."""
    from olmo_core.model_io import load_model

    from olmo_adapt.chat import Chat, ChatConfig
    from olmo_adapt.checkpoints import resolve_tokenizer
    from olmo_core.chat_template import TuluTemplate

    loaded = load_model(checkpoint)
    loaded.model.eval()
    chat = Chat(loaded.model, TuluTemplate(resolve_tokenizer(Path(checkpoint))),
                ChatConfig(checkpoint=checkpoint, max_new_tokens=max_new_tokens, temperature=0.8, top_p=0.95))
    return chat.say(prompt)


class AdaptJob(Job):
    """Adapt a checkpoint with the selected method: its data in the Tulu chat template, trained on olmo-train's
    trainer (checkpoints, exact resume, ``metrics.jsonl``, plots); the run ends with a checkpoint that
    ``olmo chat`` talks with."""

    command = "adapt"
    method: ClassVar[str | None] = None
    """The method this job runs (``None``: any)."""
    inputs: ClassVar[dict[str, Slot]] = {"checkpoint": Slot(Checkpoint, help="the checkpoint to adapt (a step "
                                                                             "directory with its tokenizer, or a run "
                                                                             "directory: its newest checkpoint)")}
    outputs: ClassVar[dict[str, Slot]] = {"checkpoint": Slot(Checkpoint)}

    def default_workdir(self, config: AdaptJobConfig, inputs: dict[str, Any]) -> str:
        return f"runs/{self.method or 'adapt'}"

    def check(self, config: AdaptJobConfig, inputs: dict[str, Any], workdir: str) -> None:
        """Refuse a method other than the job's own (before the run directory is made), and a rerun that would
        resume the run in ``workdir`` with other options (before its record is replaced)."""
        from olmo_adapt.runner import check_rerun

        if self.method is not None:
            check_method(self.command, self.method, get_host().registry("adapters").component_of(config.method).name)
        check_rerun(config.method, checkpoint=checkpoint_step_dir(inputs["checkpoint"].path), run_dir=workdir,
                    backend=config.backend, callbacks=config.callbacks, seed=config.seed, threads=config.threads)

    def run(self, config: AdaptJobConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        from olmo_adapt.runner import run_method

        registry = get_host().registry("adapters")
        chosen = registry.component_of(config.method)
        result = run_method(registry.build(config.method), checkpoint=checkpoint_step_dir(inputs["checkpoint"].path),
                            run_dir=workdir, backend=config.backend, callbacks=config.callbacks, seed=config.seed,
                            threads=config.threads, tokenizer=config.tokenizer)
        trainer = result.trainer
        last = result.history[-1] if result.history else {}
        metrics = {"run": str(trainer.run_dir), "method": getattr(config.method, NAME_KEY, chosen.name),
                   "steps": trainer.step, "checkpoint": str(result.checkpoint), **result.prepared.skips.as_dict(),
                   **{k: v for k, v in last.items() if k == "loss" or "/" in k},
                   "description": _description(chosen.name, config.method, result.prepared.summary)}
        if config.sample_prompt and trainer.is_main:
            metrics["sample_prompt"] = config.sample_prompt
            metrics["sample_answer"] = sample_conversation(str(result.checkpoint), config.sample_prompt)
        if trainer.is_main:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in metrics.items() if isinstance(v, float))
            log.info(f"{metrics['method']}: {trainer.step} steps; {shown or 'already at its last step'}; "
                     f"checkpoint {result.checkpoint}")
        return JobResult(outputs={"checkpoint": Checkpoint(path=str(result.checkpoint), step=trainer.step)},
                         metrics=metrics)

    def report(self, result: JobResult) -> Report:
        from olmo_core.plots import line_plot

        from olmo_train.callbacks.metrics import read_metrics

        m = result.metrics
        run_dir = Path(m["run"])
        rows = read_metrics(run_dir / "metrics.jsonl")
        figures = [str(f) for f in sorted((run_dir / "plots").glob("*.png")) if f.name != "rewards.png"]
        if rows and "rewards/margins" in rows[0]:
            steps = [r["step"] for r in rows]
            figures.append(str(line_plot(run_dir / "plots" / "rewards.png",
                                         {k: (steps, [r[k] for r in rows]) for k in _PREFERENCE},
                                         title="DPO rewards", xlabel="step", ylabel="value")))
        data = json.loads((run_dir / "data.json").read_text())
        skipped = ", ".join(f"{n} {why}" for why, n in data["skipped"].items()) or "none"
        last = rows[-1] if rows else {}
        lines = [f"## {_TITLES.get(m['method'], 'Adaptation: ' + m['method'])}", "", m["description"], "",
                 f"Examples kept: {data['kept']}; skipped: {skipped}. {len(rows)} steps; training loss "
                 f"{_fmt(rows[0]['loss'])} -> {_fmt(last['loss'])}." if rows else "No steps were run.", ""]
        before_file = run_dir / "eval_before.json"
        if before_file.is_file() and any(k.startswith("eval/") for k in last):
            before = json.loads(before_file.read_text())
            rows = [(k, _fmt(v), _fmt(last.get(f"eval/{k}"))) for k, v in before.items()]
            lines += [*markdown_table(["held-out metric", "before", "after"], rows), ""]
        lines += [f"![{Path(f).stem}]({f})" for f in figures]
        if "sample_answer" in m:
            lines += ["", "Sample conversation (sampled: temperature 0.8, top-p 0.95, seed 0):", "", "```text",
                      f"<|user|>\n{m['sample_prompt']}", "<|assistant|>", m["sample_answer"] or "(empty answer)", "```"]
        return Report(markdown="\n".join(lines), figures=figures)


class SFTJob(AdaptJob):
    """Supervised fine-tuning: loss on assistant turns only, built-in Alpaca set or your messages file."""

    command = "adapt sft"
    method = "sft"


class DPOJob(AdaptJob):
    """Direct preference optimization (dpo, dpo_norm, ipo) with cached reference log-probabilities."""

    command = "adapt dpo"
    method = "dpo"


_TITLES = {"sft": "Instruction tuning (SFT)", "dpo": "Preference tuning (DPO)"}


def _where_method_runs(method: str) -> str:
    for job in get_host().registry("jobs"):
        if getattr(job.factory, "method", None) == method:
            return f"use `olmo {job.factory.command}` (in a pipeline, a `{job.name}` stage)"
    return f"use `olmo adapt method={method}` (in a pipeline, an `adapt` stage with method={method})"


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _description(name: str, method: Any, summary: dict[str, Any]) -> str:
    if name == "dpo":
        reference = f"`{summary.get('reference', method.reference)}`" if method.reference else "the starting model"
        return (f"Loss `{method.loss}`, beta {method.beta:g}, reference = {reference} (log-probs cached); "
                f"data `{method.data}`, {method.max_length} tokens, lr {method.lr:g}, {method.batch_size} pairs per "
                f"step.")
    if name == "sft":
        return (f"Tulu chat template, loss on assistant turns only; data `{method.data}`, {method.max_length} tokens, "
                f"lr {method.lr:g}, {method.batch_size} conversations per step.")
    return f"Method `{name}`."
