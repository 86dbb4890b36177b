"""The evaluation jobs: ``olmo eval downstream`` and ``olmo eval perplexity`` (stages ``downstream``,
``perplexity``) evaluate one checkpoint with one registered evaluator; ``olmo eval compare`` (the pipeline's
``evaluate`` stage) evaluates several side by side with the registered evaluators it selects."""

from __future__ import annotations

import json
import logging
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from olmo_core.artifacts import Checkpoint, EvalResults
from olmo_core.config import components, positive
from olmo_core.errors import ConfigError
from olmo_core.io import read_text, write_text
from olmo_core.jobs import Job, JobResult, Report, Slot, read_result
from olmo_core.logs import print_result
from olmo_core.plugins import get_host

from olmo_eval.downstream import DownstreamEvalConfig
from olmo_eval.evaluator import Evaluation, Evaluator, build_evaluators, check_evaluators
from olmo_eval.loading import EvalModel, load_eval_model
from olmo_eval.perplexity.evaluator import PerplexityEvalConfig

__all__ = ["CompareConfig", "CompareJob", "DownstreamJob", "DownstreamJobConfig", "EvaluateJob", "ModelOptions",
           "PerplexityJob", "PerplexityJobConfig", "compare_labels", "model_labels"]

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class ModelOptions:
    """How to load the models to evaluate."""

    tokenizer: str | None = None
    """Tokenizer (registered name or path); default: the one saved with the model."""
    device: str = "auto"
    """``cpu``, ``cuda``, ``cuda:1`` ...; ``auto`` takes a GPU when there is one."""
    threads: int | None = positive(None)
    """CPU threads for torch (default: torch's own choice)."""

    def load(self, checkpoint: Checkpoint) -> tuple[EvalModel, dict[str, Any]]:
        """The model at ``checkpoint`` ready to evaluate, and what ``results.json`` says about it."""
        import torch

        if self.threads:
            torch.set_num_threads(self.threads)
        device = ("cuda" if torch.cuda.is_available() else "cpu") if self.device == "auto" else self.device
        loaded = load_eval_model(checkpoint.path, tokenizer=self.tokenizer, device=device)
        step = f", step {loaded.step}" if loaded.step is not None else ""
        log.info(f"evaluating {loaded.path} ({loaded.kind}{step}) on {device} with tokenizer {loaded.tokenizer.name}")
        return loaded, {"checkpoint": str(loaded.path), "kind": loaded.kind, "step": loaded.step,
                        "tokenizer": loaded.tokenizer.identity}


@dataclass(kw_only=True)
class DownstreamJobConfig(DownstreamEvalConfig, ModelOptions):
    """Options of ``olmo eval downstream``: the ``downstream`` evaluator's (default: the paper's nine tasks, whole)."""

    tasks: Any = components("tasks", default=["arc_easy", "arc_challenge", "boolq", "copa", "hellaswag", "openbookqa",
                                              "piqa", "sciq", "winogrande"],
                            help="tasks to evaluate (tasks=[mmlu,copa] tasks.mmlu.subjects=[anatomy])")
    limit: int | None = positive(None)


@dataclass(kw_only=True)
class PerplexityJobConfig(PerplexityEvalConfig, ModelOptions):
    """Options of ``olmo eval perplexity``: the ``perplexity`` evaluator's (default: every held-out document)."""

    held_out: list[str] | None = None
    max_documents: int | None = positive(None)


def check_inputs(configs: Any) -> None:
    """Refuse, before any model loads, an evaluator's ``input=`` (Dolma documents to score) that names nothing."""
    from olmo_core.documents import document_files
    from olmo_core.io import exists

    for config in configs:
        path = config.get("input") if isinstance(config, Mapping) else getattr(config, "input", None)
        if path is not None:
            if not any(ch in str(path) for ch in "*?[") and not exists(str(path)):
                raise ConfigError(f"input={path} does not exist: give Dolma documents (a dataset, a folder, a glob "
                                  f"or a file)")
            document_files(str(path))


class EvaluateJob(Job):
    """Evaluate one checkpoint with the registered evaluator :attr:`evaluator`, built from the job's config."""

    def check(self, config: Any, inputs: dict[str, Any], workdir: str) -> None:
        check_inputs([config])
        get_host().registry("evaluators").get(self.evaluator).build(config).check()

    evaluator: ClassVar[str] = ""
    inputs: ClassVar[dict[str, Slot]] = {"checkpoint": Slot(Checkpoint, help="a step, run or transformers directory")}
    outputs: ClassVar[dict[str, Slot]] = {"results": Slot(EvalResults)}

    def run(self, config: Any, inputs: dict[str, Any], workdir: str) -> JobResult:
        loaded, meta = config.load(inputs["checkpoint"])
        evaluation = get_host().registry("evaluators").get(self.evaluator).build(config).evaluate(
            loaded.model, loaded.tokenizer, progress=True)
        evaluation.meta = {**meta, **evaluation.meta}
        evaluation.write(workdir)
        print_result(log, evaluation.table().rstrip("\n"))
        log.info(f"scored in {evaluation.meta.get('seconds', 0):.1f}s; wrote {workdir}/{{results.json,samples.jsonl,"
                 f"results.md}}")
        return JobResult(outputs={"results": EvalResults(path=workdir)},
                         metrics={**evaluation.meta, **evaluation.summary()})

    def report(self, result: JobResult) -> Report:
        return Report(markdown=read_text(posixpath.join(result.workdir, "results.md")))


class DownstreamJob(EvaluateJob):
    """Score a model on downstream tasks by rank classification.

    ``results.json``: per task, the Table 3 metric beside chance and every normalization; ``samples.jsonl``:
    one line per document and choice (context, continuation, log-likelihood, token/char/byte counts)."""

    command = "eval downstream"
    evaluator = "downstream"


class PerplexityJob(EvaluateJob):
    """Bits per byte and token perplexity of a model on Dolma documents or the built-in held-out sets.

    Per domain and averaged per source, with Paloma's windows; ``samples.jsonl``: one line per document."""

    command = "eval perplexity"
    evaluator = "perplexity"


@dataclass(kw_only=True)
class CompareConfig(ModelOptions):
    """Options of ``olmo eval compare`` and the pipeline's ``evaluate`` stage."""

    evaluators: Any = components("evaluators", default=["downstream", "perplexity"],
                                 help="the evaluators to run on every model (evaluators.downstream.tasks=[...])")
    labels: list[str] = field(default_factory=list)
    """The models' names, in the order of the checkpoints; past the list's end (by default, for every model), a name
    from how the model was made: ``base`` for a pretrained olmo run, ``SFT`` and ``DPO`` (a method's name in capitals)
    for an adapted one, else its directory's name (:func:`model_labels`)."""


def model_labels(paths: list[str]) -> list[str]:
    """A name for each model of ``paths`` (a checkpoint's step directory or its run directory), from the job that made
    it (the run's ``result.json``): ``base`` for ``olmo train``, the method in capitals for ``olmo adapt <method>``;
    else, or where two models would share a name, the run directory's name, with as many of its parents as tell the
    models apart (``runs/tiny``, ``hf/tiny``)."""
    runs = [_run_directory(path) for path in paths]
    labels = [_made_by(run) or posixpath.basename(run) for run in runs]
    for label in set(labels):
        same = [i for i, other in enumerate(labels) if other == label]
        if len(same) > 1:
            for i, name in zip(same, _telling_apart([runs[i] for i in same]), strict=True):
                labels[i] = name
    return labels


def compare_labels(labels: list[str], paths: list[str]) -> list[str]:
    """The models' labels for ``olmo eval compare``: ``labels``, then :func:`model_labels` for the models past
    them; refused when there are no models, more labels than models, or two models with one label."""
    if not paths:
        raise ConfigError("`olmo eval compare` needs the models to compare: checkpoints=[<run or step dir>,...]")
    if len(labels) > len(paths):
        raise ConfigError(f"labels={_listed(labels)} names {len(labels)} models but checkpoints= gives {len(paths)}: "
                          f"give at most one label per checkpoint, in the checkpoints' order")
    made = model_labels(paths)
    chosen = [*labels, *made[len(labels):]]
    if len(set(chosen)) < len(chosen):
        raise ConfigError(f"`olmo eval compare` needs checkpoints with distinct labels, not {chosen}: set "
                          f"labels=[<one per checkpoint>]")
    return chosen


def _listed(values: list[str]) -> str:
    return "[" + ",".join(values) + "]"


def _run_directory(path: str) -> str:
    """The run directory of a checkpoint's step directory (``<run>/checkpoints/step000100``), or ``path`` itself."""
    path = path.rstrip("/")
    parent = posixpath.dirname(path)
    return posixpath.dirname(parent) if posixpath.basename(parent) == "checkpoints" else path


def _made_by(run: str) -> str:
    """``base`` for a run of ``olmo train``, ``SFT`` for one of ``olmo adapt sft`` ...; "" for any other directory."""
    result = read_result(run)
    job = result.job if result is not None else ""
    if job == "train":
        return "base"
    return job.removeprefix("adapt ").upper() if job.startswith("adapt ") else ""


def _telling_apart(runs: list[str]) -> list[str]:
    """The shortest trailing parts of ``runs``' paths that differ between all of them (the whole paths if none do)."""
    parts = [run.split("/") for run in runs]
    for depth in range(1, max(map(len, parts)) + 1):
        names = ["/".join(p[-depth:]) for p in parts]
        if len(set(names)) == len(names):
            return names
    return runs


class CompareJob(Job):
    """Evaluate several models side by side with the same evaluators (in the pipeline: base, SFT and DPO).

    ``<label>/<evaluator>/`` holds each evaluation's files; ``results.md`` each evaluator's comparison."""

    command = "eval compare"
    inputs: ClassVar[dict[str, Slot]] = {"checkpoints": Slot(Checkpoint, many=True, help="the models, in order")}
    outputs: ClassVar[dict[str, Slot]] = {"results": Slot(EvalResults)}

    def check(self, config: CompareConfig, inputs: dict[str, Any], workdir: str) -> None:
        compare_labels(config.labels, [c.path for c in inputs["checkpoints"]])
        check_inputs(config.evaluators.values() if isinstance(config.evaluators, Mapping) else ())
        check_evaluators(build_evaluators(config.evaluators), "evaluators")

    def run(self, config: CompareConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        labels = compare_labels(config.labels, [c.path for c in inputs["checkpoints"]])
        evaluators = build_evaluators(config.evaluators)
        evaluations: dict[str, dict[str, Evaluation]] = {name: {} for name in evaluators}
        evaluated = []
        for label, checkpoint in zip(labels, inputs["checkpoints"]):
            loaded, meta = config.load(checkpoint)
            for name, evaluator in evaluators.items():
                evaluation = evaluator.evaluate(loaded.model, loaded.tokenizer)
                evaluation.meta = {**meta, "model": label, **evaluation.meta}
                evaluations[name][label] = evaluation
                evaluation.write(posixpath.join(workdir, label, name))
            evaluated.append({"model": label, "checkpoint": checkpoint.path, "step": loaded.step})
        metrics: dict[str, Any] = {"evaluated": evaluated}
        sections, figures = ["## Evaluation"], []
        for name, by_label in evaluations.items():
            values, section = getattr(type(evaluators[name]), "compare", Evaluator.compare)(name, by_label, workdir)
            metrics.update(values)
            sections.append(section.markdown)
            figures += [posixpath.relpath(f, workdir) for f in section.figures]
        links = "\n".join(f"![{posixpath.splitext(posixpath.basename(f))[0]}]({f})" for f in figures)
        write_text(posixpath.join(workdir, "results.md"), "\n\n".join([*sections, *([links] if links else [])]) + "\n")
        write_text(posixpath.join(workdir, "results.json"), json.dumps(metrics, indent=2) + "\n")
        print_result(log, "\n\n".join(sections[1:]))
        log.info(f"compared {', '.join(labels)}; wrote {workdir}/{{results.md,results.json}} and each model's files "
                 f"under {workdir}/<model>/<evaluator>/")
        return JobResult(outputs={"results": EvalResults(path=workdir)}, metrics=metrics)

    report = EvaluateJob.report
