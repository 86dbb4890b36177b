"""olmo-eval: Catwalk-style downstream tasks and Paloma-style perplexity for olmo checkpoints and transformers
OLMo directories, offline and in the training loop."""

from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator, TaskResult
from olmo_eval.perplexity.evaluator import PerplexityEvalConfig, PerplexityEvaluator, PerplexityResult
from olmo_eval.tasks.base import Instance, Task, TaskConfig

__all__ = ["DownstreamEvalConfig", "DownstreamEvaluator", "Instance", "PerplexityEvalConfig", "PerplexityEvaluator",
           "PerplexityResult", "Task", "TaskConfig", "TaskResult"]
