"""olmo-eval: Catwalk-style downstream tasks and Paloma-style perplexity for olmo checkpoints and transformers
OLMo directories, offline and in the training loop, through one evaluator interface."""

from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator, DownstreamResult, TaskResult
from olmo_eval.evaluator import Evaluation, Evaluator
from olmo_eval.perplexity.evaluator import PerplexityEvalConfig, PerplexityEvaluator, PerplexityResult
from olmo_eval.tasks.base import Instance, Task, TaskConfig

__all__ = ["DownstreamEvalConfig", "DownstreamEvaluator", "DownstreamResult", "Evaluation", "Evaluator", "Instance",
           "PerplexityEvalConfig", "PerplexityEvaluator", "PerplexityResult", "Task", "TaskConfig", "TaskResult"]
