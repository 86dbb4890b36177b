"""olmo-eval's built-in components, registered through the same hooks as any plugin."""

from __future__ import annotations

from olmo_core.plugins import hookimpl
from olmo_core.registry import Register

from olmo_eval.callbacks import (DownstreamEvalCallback, DownstreamEvalCallbackConfig, PerplexityEvalCallback,
                                 PerplexityEvalCallbackConfig)
from olmo_eval.commands import DownstreamCommandConfig, PerplexityCommandConfig, downstream_command, perplexity_command
from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator
from olmo_eval.perplexity.evaluator import PerplexityEvalConfig, PerplexityEvaluator
from olmo_eval.tasks.builtin import register_builtin_tasks
from olmo_eval.tasks.task_file import TaskFile, TaskFileConfig


@hookimpl(trylast=True)
def olmo_register_tasks(register: Register) -> None:
    register_builtin_tasks(register)
    register("task_file", TaskFile, config=TaskFileConfig, aliases=("jsonl",))


@hookimpl(trylast=True)
def olmo_register_evaluators(register: Register) -> None:
    register("downstream", DownstreamEvaluator, config=DownstreamEvalConfig)
    register("perplexity", PerplexityEvaluator, config=PerplexityEvalConfig)


@hookimpl(trylast=True)
def olmo_register_callbacks(register: Register) -> None:
    register("downstream_eval", DownstreamEvalCallback, config=DownstreamEvalCallbackConfig)
    register("perplexity_eval", PerplexityEvalCallback, config=PerplexityEvalCallbackConfig)



@hookimpl(trylast=True)
def olmo_register_commands(register: Register) -> None:
    register("eval downstream", downstream_command, config=DownstreamCommandConfig)
    register("eval perplexity", perplexity_command, config=PerplexityCommandConfig)
