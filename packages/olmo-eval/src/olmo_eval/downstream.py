"""The downstream evaluator: rank classification of every task's choices, one record per (document, choice).

Every task's requests (and the unconditional ones) go through one batched, length-sorted scoring pass in
which each distinct context is computed once; the records then give every metric of :mod:`olmo_eval.metrics`.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import posixpath
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from olmo_core.config import components, non_negative, positive, to_dict
from olmo_core.errors import ConfigError, UnknownComponentError
from olmo_core.io import write_text
from olmo_core.jobs import Report, markdown_table
from olmo_core.nn import unwrap_model
from olmo_core.nn.config import context_length
from olmo_core.plugins import get_host
from olmo_core.stats import describe, half_width, mean_stderr, multiple_comparisons, paired, plus_minus
from olmo_core.tokenizer import Tokenizer

from olmo_eval.evaluator import Evaluation, Evaluator
from olmo_eval.metrics import LOWER_IS_BETTER, accuracies, chance
from olmo_eval.scoring.requests import build_rows, encode_requests
from olmo_eval.task_results import TaskResult
from olmo_eval.tasks.base import METRICS, Task, limit_of, subsample
from olmo_eval.tasks.generation import GenerationTask, Question
from olmo_eval.tasks.task_file import TaskFile, TaskFileConfig

__all__ = ["DEFAULT_TASKS", "DownstreamEvalConfig", "DownstreamEvaluator", "DownstreamResult", "TaskResult",
           "bar_error", "build_tasks", "check_unconditional", "input_length", "model_max_length"]

log = logging.getLogger(__name__)

DEFAULT_TASKS = ("arc_easy", "copa", "hellaswag", "piqa", "sciq")
"""The tasks the ``downstream`` evaluator selects by default (composed by Hydra; a config built in Python starts
with none)."""


@dataclass(kw_only=True)
class DownstreamEvalConfig:
    """Options of downstream (rank classification) evaluation; the defaults are the pipeline's (small)."""

    tasks: Any = components("tasks", default=DEFAULT_TASKS,
                            help="tasks to evaluate (tasks=[mmlu,copa] tasks.mmlu.subjects=[anatomy])")
    """Registered tasks to evaluate, selected as every component list is (``tasks=[mmlu,copa]``, ``+tasks=[piqa]``)
    with a selected task's options under its name (``tasks.mmlu.subjects=[anatomy]``). Composed, it maps each name
    to its config; built in Python, names or name to fields of its config (``{"mmlu": {"subjects": [...]}}``)."""
    task_files: list[str] = field(default_factory=list)
    """JSON-lines task files (context, choices, gold per line), each evaluated as a task named after its file."""
    limit: int | None = positive(60)
    """Documents per task (per subject for MMLU): a seeded random subset in dataset order (``null``: all)."""
    seed: int = non_negative(1234)
    """Seed of the subset (OLMo-Eval's ``random_subsample_seed``)."""
    unconditional: bool = True
    """Also score each continuation after :attr:`unconditional_prompt`, for ``acc_uncond`` (PMI)."""
    unconditional_prompt: str = "Answer:"
    """The unconditional context (Catwalk's; ``""`` scores after EOS alone, as lm-eval's ``acc_mutual_info``)."""
    shared_prefix: bool = True
    """Compute each context once for all its continuations (OLMo models; others score request by request)."""
    max_length: int | None = positive(None)
    """Longest input in tokens; contexts are cut from the left to fit (default: the model's sequence length)."""
    batch_tokens: int = positive(8192)
    """Most tokens in one forward pass (rows times the longest row)."""
    max_batch_size: int = positive(64)
    """Most rows in one forward pass."""


@dataclass(kw_only=True)
class DownstreamResult(Evaluation):
    """What :meth:`DownstreamEvaluator.evaluate` returns: one :class:`TaskResult` per task."""

    title: ClassVar[str] = "Downstream evaluation"
    tasks: list[TaskResult] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        """``<task>/acc`` (the primary metric), ``<task>/<metric>`` for every metric, ``downstream_seconds``."""
        metrics = {f"{r.task}/{name}": value for r in self.tasks
                   for name, value in {"acc": r.accuracy, **r.metrics}.items()}
        return {**metrics, "downstream_seconds": self.meta.get("seconds", 0.0)}

    def summary(self) -> dict[str, Any]:
        return {"tasks": {r.task: r.summary() for r in self.tasks}}

    def samples(self) -> list[dict[str, Any]]:
        return [record for r in self.tasks for record in r.records]

    def table(self) -> str:  # per task: the primary metric beside chance, then every metric
        shown = [m for m in METRICS if any(m in r.metrics for r in self.tasks)]
        rows = [[r.task, r.metric, f"{r.accuracy:.4f}", "-" if r.interval is None else "[{:.4f}, {:.4f}]".format(
                 *r.interval), f"{r.chance:.4f}",
                 *(f"{r.metrics[m]:.4f}" if m in r.metrics else "-" for m in shown), r.documents] for r in self.tasks]
        header = ["task", "metric", "accuracy", "95% interval", "chance", *shown, "documents"]
        return "\n".join(markdown_table(header, rows)) + "\n"


def model_max_length(model: Any, default: int = 2048) -> int:
    """The model's trained sequence length (:func:`olmo_core.nn.config.context_length` of the unwrapped model)."""
    return context_length(unwrap_model(model), default)


def input_length(model: Any, value: int | None, key: str) -> int:
    """The longest input to give ``model``: ``value`` (the option ``key``, ``max_length`` or ``window``), or by
    default the model's sequence length; a value past the length the model's config names is refused (a
    transformers model with learned positions fails on it, and no model was trained on it)."""
    limit = context_length(unwrap_model(model), 0)
    if value is None:
        return limit or model_max_length(model)
    if limit and value > limit:
        raise ConfigError(f"{key}={value} is past the model's maximum sequence length, {limit} tokens: give "
                          f"{key}={limit} or less, or leave {key} out (the model's length)")
    return value


def build_tasks(tasks: Sequence[str] | Mapping[str, Any], task_files: Sequence[str] = ()) -> list[Task]:
    """Tasks by registry name (or name to fields of its config), then one per task file."""
    registry = get_host().registry("tasks")
    specs = tasks.items() if isinstance(tasks, Mapping) else ((name, None) for name in tasks)
    built = []
    for name, options in specs:
        try:
            built.append(registry.build({**to_dict(registry.resolve(name)[1]), **to_dict(options)}) if options
                         else registry.build(name))
        except UnknownComponentError:
            raise
        except ConfigError as exc:  # the task's own check (metric, MMLU subjects, shots ...), named by its key
            raise ConfigError(f"tasks.{name}: {exc}") from None
    built += [TaskFile(TaskFileConfig(path=path)) for path in task_files]
    if not built:
        raise ConfigError(f"no tasks to evaluate: choose some with tasks=[...] (available: "
                          f"{', '.join(registry.options())}) or task_files=[...]")
    names = [t.name for t in built]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ConfigError(f"tasks named twice: {', '.join(duplicated)}")
    return built


def check_unconditional(tasks: Sequence[Task], unconditional: bool) -> None:
    """With ``unconditional=false``, refuse a task whose chosen metric (``tasks.<name>.metric=acc_uncond``) needs
    the unconditional requests, and warn of each task whose default primary metric does (ARC, OpenBookQA): it
    reports ``acc_raw`` instead."""
    if unconditional:
        return
    for task in tasks:
        if task.metric != "acc_uncond" or isinstance(task, GenerationTask):
            continue
        if getattr(getattr(task, "config", None), "metric", None) == "acc_uncond":
            raise ConfigError(f"tasks.{task.name}.metric=acc_uncond needs the unconditional requests that "
                              f"unconditional=false skips: set unconditional=true or choose another metric")
        log.warning(f"{task.name}'s primary metric acc_uncond needs the unconditional requests that "
                    f"unconditional=false skips: {task.name} reports acc_raw instead (unconditional=true keeps "
                    f"acc_uncond; tasks.{task.name}.metric=<metric> chooses another)")


class DownstreamEvaluator(Evaluator):
    """Score tasks by rank classification (zero-shot, as OLMo and Catwalk do)."""

    def __init__(self, config: DownstreamEvalConfig | None = None) -> None:
        super().__init__(config or DownstreamEvalConfig(tasks=list(DEFAULT_TASKS)))

    def prepare(self) -> None:
        self.tasks  # noqa: B018

    def check(self) -> None:
        """The tasks built (no tasks, an unknown metric, MMLU subject or number of shots are refused), a metric
        that ``unconditional=false`` cannot score refused, and every task file read (a missing file or a bad line)."""
        keys = [*(f"tasks.{name}" for name in self.config.tasks), *("task_files" for _ in self.config.task_files)]
        for key, task in zip(keys, self.tasks, strict=True):  # build_tasks' order
            if isinstance(task, TaskFile):
                try:
                    task.instances()
                except ConfigError as exc:
                    raise ConfigError(f"{key}: {exc}") from None

    @functools.cached_property
    def tasks(self) -> list[Task]:
        """The config's tasks, built (and their data read) once; a metric that the options cannot score is refused
        (or, a task's default, reported in the log: see :func:`check_unconditional`)."""
        tasks = build_tasks(self.config.tasks, self.config.task_files)
        check_unconditional(tasks, self.config.unconditional)
        return tasks

    def evaluate(self, model: Any, tokenizer: Tokenizer, tasks: Sequence[Task] | None = None, *,
                 progress: bool = False) -> DownstreamResult:
        """Score every task (default: the config's) on ``model``: one result per task, records included.
        Rank-classification tasks are scored together in one pass; generation tasks (:class:`GenerationTask`)
        generate greedily, one document at a time."""
        from olmo_eval.generation import score_generation  # torch, when evaluating

        c = self.config
        length = input_length(model, c.max_length, "max_length")  # refused before any scoring
        tasks = self.tasks if tasks is None else tasks
        ranked = [self.ranked(task, tokenizer) for task in tasks if not isinstance(task, GenerationTask)]
        results = self._rank(model, tokenizer, ranked, progress=progress)
        done = {r.task: r for r in results.tasks}
        start = time.perf_counter()
        for task in tasks:
            if isinstance(task, GenerationTask):
                questions = subsample(task.instances(), limit_of(task, c.limit), c.seed)  # type: ignore[arg-type]
                prompts, stop = self.prompts(task, questions, tokenizer)  # type: ignore[arg-type]
                done[task.name] = score_generation(model, tokenizer, task, questions, prompts,  # type: ignore[arg-type]
                                                   stop=stop, max_length=length,
                                                   progress=progress)
        results.tasks = [done[task.name] for task in tasks]
        generating = time.perf_counter() - start
        results.meta["seconds"] = round(results.meta.get("seconds", 0.0) + generating, 3)
        results.meta["generation_seconds"] = round(generating, 3)
        return results

    def ranked(self, task: Task, tokenizer: Tokenizer) -> Task:
        """The rank-classification task as scored (as it is; the chat evaluator asks it through a template)."""
        return task

    def prompts(self, task: GenerationTask, questions: Sequence[Question],
                tokenizer: Tokenizer) -> tuple[list[str], tuple[str, ...]]:
        """The text each question's answer is generated after, and the stop texts: the task's plain prompts."""
        return [q.prompt for q in questions], task.stop

    def _rank(self, model: Any, tokenizer: Tokenizer, tasks: Sequence[Task], *,
              progress: bool = False) -> DownstreamResult:
        from olmo_eval.scoring.engine import fast_model, score_rows  # torch, when evaluating

        c = self.config
        if not tasks:
            return DownstreamResult(meta={"seconds": 0.0, "requests": 0, "limit": c.limit, "seed": c.seed})
        selected = [(task, subsample(task.instances(), limit_of(task, c.limit), c.seed)) for task in tasks]
        pairs: list[tuple[str, str]] = []
        for _, instances in selected:
            for instance in instances:
                pairs.extend(zip(instance.contexts, instance.continuations))
                if c.unconditional:
                    pairs.extend((c.unconditional_prompt, cont) for cont in instance.continuations)
        requests = encode_requests(pairs, tokenizer)
        rows, where = build_rows(requests, max_length=input_length(model, c.max_length, "max_length"),
                                 shared_prefix=c.shared_prefix and fast_model(model) is not None,
                                 max_row_tokens=c.batch_tokens)
        start = time.perf_counter()
        scored = score_rows(model, rows, pad_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
                            batch_tokens=c.batch_tokens, max_batch_size=c.max_batch_size,
                            progress="scoring" if progress else None)
        seconds = time.perf_counter() - start

        def loglikelihood(index: int) -> tuple[float, bool]:
            row, first = where[index]
            n = len(requests[index].continuation)
            logprobs, greedy = scored[row]
            return sum(logprobs[first:first + n]), all(greedy[first:first + n])

        results = DownstreamResult(meta={
            "seconds": round(seconds, 3), "requests": len(requests), "limit": c.limit, "seed": c.seed,
            "unconditional_prompt": c.unconditional_prompt if c.unconditional else None})
        cursor = 0
        for task, instances in selected:
            records = []
            for instance in instances:
                for choice, (context, continuation) in enumerate(zip(instance.contexts, instance.continuations)):
                    ll, greedy = loglikelihood(cursor)
                    text = continuation.removeprefix(" ")
                    record = {"task": task.name, "doc_id": instance.doc_id, "native_id": instance.native_id,
                              "choice": choice, "gold": instance.gold, "context": context,
                              "continuation": continuation, "ll": ll, "greedy": greedy,
                              "tokens": len(requests[cursor].continuation), "chars": len(text),
                              "bytes": len(text.encode("utf-8"))}
                    if instance.group:
                        record["group"] = instance.group
                    cursor += 1
                    records.append(record)
                if c.unconditional:
                    for record in records[-instance.num_choices:]:
                        record["ll_uncond"] = loglikelihood(cursor)[0]
                        cursor += 1
            metrics = accuracies(records)
            results.tasks.append(TaskResult(
                task=task.name, metric=task.metric if task.metric in metrics else "acc_raw", metrics=metrics,
                chance=chance(records), documents=len(instances),
                requests=len(records) * (2 if c.unconditional else 1), records=records))
        return results

    @classmethod
    def compare(cls, name: str, evaluations: Mapping[str, Evaluation], workdir: str) -> tuple[dict[str, Any], Report]:
        """``accuracy`` (model -> task -> primary metric), ``stderr`` (likewise; ``null`` where unknown),
        ``chance``, ``paired`` (model -> task -> :func:`olmo_core.stats.paired` against the first model),
        ``<label>_mean_accuracy`` and ``mean_accuracy_stderr`` (model -> the average's standard error), ``correct``
        (``correct.json``: model -> task -> document -> right, for sweep comparisons); a table of them with 95%
        intervals (tasks as rows, models as columns, the average last; also ``accuracy.csv``), each model against
        the first, and ``accuracy.png`` with 95% error bars."""
        from olmo_core.plots import bar_plot

        side = SideBySide.of(evaluations)
        accuracy, errors, chance, metric = side.accuracy, side.errors, side.chance, side.metric
        averaged = [t for t in chance if metric[t] not in LOWER_IS_BETTER and all(t in a for a in accuracy.values())]
        average = {label: sum(a[t] for t in averaged) / len(averaged) if averaged else float("nan")
                   for label, a in accuracy.items()}
        average_se = {label: mean_stderr([e[t] for t in averaged]) for label, e in errors.items()}
        header, rows = _accuracy_table(accuracy, errors, chance, metric, average if averaged else None, average_se)
        lines = ["Downstream accuracy (each task's primary metric, the paper's choice) of "
                 + ", ".join(label if e.meta.get("step") is None else f"{label} (step {e.meta['step']})"
                             for label, e in evaluations.items())
                 + ", ± the half-width of its 95% interval (1.96 standard errors over documents), beside chance:",
                 "", *markdown_table(header, rows), "",
                 ("The average is the mean of the primary accuracies of the tasks every model ran (not of figures "
                  "where lower is better); its standard error is sqrt(sum se²) / n_tasks, the tasks taken as "
                  "independent. A figure without ± has too few documents (fewer than 2) for a standard error. The "
                  "table is also in accuracy.csv.")]
        lines += side.verdicts()
        write_text(posixpath.join(workdir, "accuracy.csv"), _csv([header, *rows]))
        extra = {"average": sum(chance[t] for t in averaged) / len(averaged)} if averaged else {}
        shown = {label: {**a, **({"average": average[label]} if averaged else {})} for label, a in accuracy.items()}
        spreads = {label: {t: bar_error(shown[label][t], se) for t, se in {
                       **e, **({"average": average_se[label]} if averaged else {})}.items()}
                   for label, e in errors.items()}
        figure = bar_plot(posixpath.join(workdir, "accuracy.png"), {**shown, "chance": {**chance, **extra}},
                          title="downstream accuracy (95% intervals)", ylabel="accuracy", errors=spreads)
        right = side.write_correct(posixpath.join(workdir, "correct.json"))
        metrics = {"accuracy": accuracy, "stderr": errors, "chance": chance, "paired": side.paired, "correct": right,
                   "mean_accuracy_stderr": average_se,
                   **({f"{label}_mean_accuracy": round(a, 4) for label, a in average.items()} if averaged else {})}
        return metrics, Report(markdown="\n".join(lines), figures=[str(figure)])


def bar_error(value: float, se: float | None) -> tuple[float, float] | None:
    """The error bar of ``value`` (a fraction) in a figure: the lengths below and above it of its 95% interval cut
    to [0, 1], as the tables' intervals are (``None``: no standard error, no bar)."""
    if se is None:
        return None
    width = half_width(se)
    return min(width, max(value, 0.0)), min(width, max(1.0 - value, 0.0))


def _accuracy_table(accuracy: Mapping[str, Mapping[str, float]], errors: Mapping[str, Mapping[str, float | None]],
                    chance: Mapping[str, float], metric: Mapping[str, str], average: Mapping[str, float] | None,
                    average_se: Mapping[str, float | None]) -> tuple[list[str], list[list[str]]]:
    """The OLMo paper's Table 6 layout: a row per task (metric, chance, each model's accuracy ± 95%), then the
    average row (when there is one); a model that lacks a task shows ``-`` there."""
    rows = [[task, metric[task] + (" (lower is better)" if metric[task] in LOWER_IS_BETTER else ""),
             f"{chance[task]:.3f}",
             *(plus_minus(accuracy[label][task], errors[label][task]) if task in accuracy[label] else "-"
               for label in accuracy)] for task in chance]
    if average is not None:
        averaged = [t for t in chance if metric[t] not in LOWER_IS_BETTER and all(t in a for a in accuracy.values())]
        rows.append(["average", "", f"{sum(chance[t] for t in averaged) / len(averaged):.3f}",
                     *(plus_minus(average[label], average_se[label]) for label in accuracy)])
    return ["task", "metric", "chance", *accuracy], rows


@dataclass(kw_only=True)
class SideBySide:
    """Several models' task results (label -> task -> result; the first model is the reference), as the
    comparisons of the downstream and chat evaluators read them."""

    results: dict[str, dict[str, TaskResult]]

    @classmethod
    def of(cls, evaluations: Mapping[str, Evaluation]) -> SideBySide:
        """From evaluations that hold :class:`TaskResult` lists (``tasks``)."""
        return cls(results={label: {r.task: r for r in e.tasks}  # type: ignore[attr-defined]
                            for label, e in evaluations.items()})

    @property
    def first(self) -> str:
        """The reference model's label."""
        return next(iter(self.results))

    @property
    def accuracy(self) -> dict[str, dict[str, float]]:
        """Label -> task -> the primary metric."""
        return {label: {t: r.accuracy for t, r in tasks.items()} for label, tasks in self.results.items()}

    @property
    def errors(self) -> dict[str, dict[str, float | None]]:
        """Label -> task -> its standard error (``None`` where unknown)."""
        return {label: {t: r.stderr for t, r in tasks.items()} for label, tasks in self.results.items()}

    @property
    def chance(self) -> dict[str, float]:
        """Task -> chance, every task any model ran, in order."""
        return {r.task: r.chance for tasks in self.results.values() for r in tasks.values()}

    @property
    def metric(self) -> dict[str, str]:
        """Task -> its primary metric."""
        return {r.task: r.metric for tasks in self.results.values() for r in tasks.values()}

    @functools.cached_property
    def paired(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Label -> task -> :func:`olmo_core.stats.paired` of that model against the first, on the same documents."""
        reference = self.results[self.first]
        return {label: {t: paired(reference[t].correct, r.correct) for t, r in tasks.items() if t in reference}
                for label, tasks in self.results.items() if label != self.first}

    def verdicts(self) -> list[str]:
        """Report lines: per task, each model against the first, and what so many tests mean together."""
        tasks = [t for t in self.chance if any(t in c for c in self.paired.values())]
        if not tasks:
            return []
        lines = ["", f"Each model against {self.first} on the same documents (McNemar's exact test; beyond noise at "
                     "p < 0.05):", ""]
        lines += [f"- {task}: " + "; ".join(f"{label} vs {self.first}: {describe(c[task])}"
                                            for label, c in self.paired.items() if task in c) for task in tasks]
        note = multiple_comparisons(sum(len(c) for c in self.paired.values()))
        return lines + (["", note] if note else [])

    def write_correct(self, path: str) -> str:
        """``path`` (JSON): label -> task -> document -> whether the primary metric counts it (right; for a
        lower-is-better metric such as ``toxic``, the document is counted by that metric)."""
        write_text(path, json.dumps({label: {t: r.correct for t, r in tasks.items()}
                                     for label, tasks in self.results.items()}))
        return path


def _csv(rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()
