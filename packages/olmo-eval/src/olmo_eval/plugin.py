"""olmo-eval's built-in components, registered through the same hooks as any plugin."""

from __future__ import annotations

from olmo_core.plugins import hookimpl
from olmo_core.registry import Register

from olmo_eval.callbacks import EvaluateCallback, EvaluateCallbackConfig
from olmo_eval.chat import ChatEvalConfig, ChatEvaluator
from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator
from olmo_eval.jobs import (CompareConfig, CompareJob, DownstreamJob, DownstreamJobConfig, PerplexityJob,
                            PerplexityJobConfig)
from olmo_eval.perplexity.evaluator import PerplexityEvalConfig, PerplexityEvaluator
from olmo_eval.tasks.builtin import register_builtin_tasks
from olmo_eval.tasks.task_file import TaskFile, TaskFileConfig
from olmo_eval.tasks.toxicity import ToxicityConfig, ToxicityTask
from olmo_eval.tasks.tulu import GSM8KConfig, GSM8KTask, MMLUTuluConfig, MMLUTuluTask


@hookimpl(trylast=True)
def olmo_register_tasks(register: Register) -> None:
    register_builtin_tasks(register)
    register("mmlu_tulu", MMLUTuluTask, config=MMLUTuluConfig)
    register("gsm8k", GSM8KTask, config=GSM8KConfig)
    register("toxicity", ToxicityTask, config=ToxicityConfig)
    register("task_file", TaskFile, config=TaskFileConfig, aliases=("jsonl",))


@hookimpl(trylast=True)
def olmo_register_evaluators(register: Register) -> None:
    register("downstream", DownstreamEvaluator, config=DownstreamEvalConfig)
    register("perplexity", PerplexityEvaluator, config=PerplexityEvalConfig)
    register("chat", ChatEvaluator, config=ChatEvalConfig)


@hookimpl(trylast=True)
def olmo_register_callbacks(register: Register) -> None:
    register("evaluate", EvaluateCallback, config=EvaluateCallbackConfig)


@hookimpl(trylast=True)
def olmo_register_jobs(register: Register) -> None:
    register("downstream", DownstreamJob, config=DownstreamJobConfig)
    register("perplexity", PerplexityJob, config=PerplexityJobConfig)
    register("evaluate", CompareJob, config=CompareConfig)
