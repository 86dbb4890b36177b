"""olmo-eval: Catwalk-style downstream tasks, Paloma-style perplexity and the chat-model suite for olmo
checkpoints and any transformers causal LM, offline and in the training loop, through one evaluator interface."""

from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator, DownstreamResult
from olmo_eval.evaluator import Evaluation, Evaluator
from olmo_eval.perplexity.evaluator import PerplexityEvalConfig, PerplexityEvaluator, PerplexityResult
from olmo_eval.task_results import TaskResult
from olmo_eval.tasks.base import Instance, Task, TaskConfig

__all__ = ["DownstreamEvalConfig", "DownstreamEvaluator", "DownstreamResult", "Evaluation", "Evaluator", "Instance",
           "PerplexityEvalConfig", "PerplexityEvaluator", "PerplexityResult", "Task", "TaskConfig", "TaskResult"]
