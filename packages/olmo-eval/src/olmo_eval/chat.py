"""The chat evaluator: tasks asked through a chat template, as the OLMo paper evaluates its SFT and DPO models.

Every task goes through the template the models were tuned with (``template=tulu``,
:mod:`olmo_core.chat_template`, with its leading BOS, as open-instruct's OLMo format forces one): the task's
prompt is the user's message and the assistant's turn starts with the task's answer prefix. Rank-classification
tasks (``mmlu_tulu``) are scored by the downstream engine on those contexts; generation tasks generate
greedily until EOS and are judged by the task (``gsm8k``: exact match of the final number; ``toxicity``: the
fraction of toxic continuations). ``olmo eval compare`` and the pipeline show the models side by side as the
paper's adaptation table: a row per model, a column per task, each with its 95% interval, and each model
against the first on the same documents.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from olmo_core.chat_template import TuluTemplate
from olmo_core.config import components
from olmo_core.errors import ConfigError
from olmo_core.jobs import Report, markdown_table
from olmo_core.stats import plus_minus
from olmo_core.tokenizer import Tokenizer

from olmo_eval.downstream import (DownstreamEvalConfig, DownstreamEvaluator, DownstreamResult, SideBySide,
                                  bar_error)
from olmo_eval.evaluator import Evaluation
from olmo_eval.metrics import LOWER_IS_BETTER
from olmo_eval.tasks.base import Instance, Task
from olmo_eval.tasks.generation import GenerationTask, Question

__all__ = ["CHAT_TASKS", "TEMPLATES", "ChatEvalConfig", "ChatEvaluator", "ChatResult"]

CHAT_TASKS = ("mmlu_tulu", "gsm8k", "toxicity")
"""The tasks the ``chat`` evaluator selects by default (composed by Hydra; a config built in Python starts with
none)."""

TEMPLATES = {"tulu": TuluTemplate}
"""The chat templates a chat evaluation can ask through, by name."""


@dataclass(kw_only=True)
class ChatEvalConfig(DownstreamEvalConfig):
    """Options of the chat evaluation (the downstream options, applied to the templated prompts)."""

    tasks: Any = components("tasks", default=CHAT_TASKS,
                            help="tasks to ask (tasks=[gsm8k] tasks.gsm8k.max_new_tokens=64)")
    """Registered tasks, rank classification (``mmlu_tulu``) and generation (``gsm8k``, ``toxicity``) alike,
    selected as every component list is (``tasks=[gsm8k]``), a selected task's options under its name
    (``tasks.gsm8k.max_new_tokens=64``)."""
    template: str = "tulu"
    """The chat template the prompts are asked through (the one olmo's SFT and DPO tune with)."""
    unconditional: bool = False


class _Templated(Task):
    """A rank-classification task whose contexts are asked through a chat template."""

    def __init__(self, task: Task, template: TuluTemplate) -> None:
        self.task, self.template, self.config = task, template, task.config
        self.name, self.metric, self.description = task.name, task.metric, task.description
        self._instances: list[Instance] | None = None

    def load(self) -> list[Instance]:
        asked: dict[str, str] = {}

        def ask(context: str) -> str:
            if context not in asked:
                messages = [{"role": "user", "content": self.task.chat_prompt(context)}]
                asked[context] = self.template.render(messages, add_generation_prompt=True) + self.task.chat_answer
            return asked[context]

        return [dataclasses.replace(i, contexts=tuple(ask(c) for c in i.contexts)) for i in self.task.instances()]


@dataclass(kw_only=True)
class ChatResult(DownstreamResult):
    """What :meth:`ChatEvaluator.evaluate` returns: one result per task, in the config's order."""

    title: ClassVar[str] = "Chat evaluation"


class ChatEvaluator(DownstreamEvaluator):
    """Ask every task through a chat template: rank classification and greedy generation."""

    def __init__(self, config: ChatEvalConfig | None = None) -> None:
        super().__init__(config or ChatEvalConfig(tasks=list(CHAT_TASKS)))
        if self.config.template not in TEMPLATES:
            raise ConfigError(f"template={self.config.template!r}: not a chat template (available: "
                              f"{', '.join(TEMPLATES)})")

    def evaluate(self, model: Any, tokenizer: Tokenizer, tasks: Sequence[Task] | None = None, *,
                 progress: bool = False) -> ChatResult:
        result = super().evaluate(model, tokenizer, tasks, progress=progress)
        return ChatResult(meta={**result.meta, "template": self.config.template}, tasks=result.tasks)

    def template(self, tokenizer: Tokenizer) -> TuluTemplate:
        """The chat template for ``tokenizer`` (built once per tokenizer)."""
        return self._asked(tokenizer)[0]

    def _asked(self, tokenizer: Tokenizer) -> tuple[TuluTemplate, dict[int, _Templated]]:
        """The template for ``tokenizer`` and the tasks already asked through it, so that repeated evaluations
        (in the training loop) render each task's contexts once."""
        if getattr(self, "_for", None) is not tokenizer:
            self._for, self._cache = tokenizer, (TEMPLATES[self.config.template](tokenizer), {})
        return self._cache

    def ranked(self, task: Task, tokenizer: Tokenizer) -> Task:
        template, asked = self._asked(tokenizer)
        if id(task) not in asked or asked[id(task)].task is not task:
            asked[id(task)] = _Templated(task, template)
        return asked[id(task)]

    def prompts(self, task: GenerationTask, questions: Sequence[Question],
                tokenizer: Tokenizer) -> tuple[list[str], tuple[str, ...]]:
        """Each question's user message through the template, then the task's answer prefix; the chat stop texts."""
        template = self.template(tokenizer)
        return [template.render([{"role": "user", "content": q.user}], add_generation_prompt=True) + task.chat_answer
                for q in questions], task.chat_stop

    @classmethod
    def compare(cls, name: str, evaluations: Mapping[str, Evaluation], workdir: str) -> tuple[dict[str, Any], Report]:
        """The paper's adaptation table: a row per model, a column per task (its primary metric ± the half-width
        of the 95% interval), then each model against the first on the same documents (McNemar's exact test);
        ``<name>.png``, the same figure with 95% error bars, and ``<name>_correct.json`` (model -> task ->
        document -> counted by the metric: right, or for ``toxic``, toxic)."""
        from olmo_core.plots import bar_plot

        side = SideBySide.of(evaluations)
        metric, tasks = side.metric, list(side.chance)
        rows = [[label, *(plus_minus(by_task[t].accuracy, by_task[t].stderr) if t in by_task else "-" for t in tasks)]
                for label, by_task in side.results.items()]
        lower = [t for t in tasks if metric[t] in LOWER_IS_BETTER]
        lines = ["Chat evaluation through the chat template (the paper's adaptation table): each task's primary "
                 "metric ± the half-width of its 95% interval (1.96 standard errors over documents)"
                 + (f"; lower is better for {', '.join(lower)}." if lower else "."), "",
                 *markdown_table(["model", *(f"{t} ({metric[t]})" for t in tasks)], rows), *side.verdicts()]
        spreads = {label: {t: bar_error(side.accuracy[label][t], se) for t, se in e.items()}
                   for label, e in side.errors.items()}
        figure = bar_plot(posixpath.join(workdir, f"{name}.png"), side.accuracy, errors=spreads,
                          title="chat evaluation (95% intervals)", ylabel="accuracy / exact match / fraction toxic")
        right = side.write_correct(posixpath.join(workdir, f"{name}_correct.json"))
        metrics = {f"{name}_accuracy": side.accuracy, f"{name}_stderr": side.errors, f"{name}_paired": side.paired,
                   f"{name}_correct": right}
        return metrics, Report(markdown="\n".join(lines), figures=[str(figure)])
