"""The task interface: instances of rank classification (contexts, choices, the gold choice) and their text.

A task yields :class:`Instance` records in the exact strings a model is scored on: every choice is a
``(context, continuation)`` pair and the model's log-likelihood of the continuation given the context ranks
the choices. Most tasks share one context across choices; WinoGrande-style "partial scoring" gives each
choice its own context and one shared continuation.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from olmo_core.config import positive
from olmo_core.errors import ConfigError

__all__ = ["METRICS", "Instance", "Task", "TaskConfig", "limit_of", "subsample"]

METRICS = ("acc_raw", "acc_per_token", "acc_per_char", "acc_per_byte", "acc_uncond")
"""Every accuracy a task can report; :mod:`olmo_eval.metrics` defines each from the per-choice records."""


@dataclass(frozen=True, kw_only=True)
class Instance:
    """One document of a task: a context and a continuation per choice, and the index of the gold choice."""

    doc_id: int
    """Position of the document in the task's split (stable: per-sample logs and subsets refer to it)."""
    contexts: tuple[str, ...]
    """The context of each choice (the same string repeated when the choices share it)."""
    continuations: tuple[str, ...]
    """The continuation of each choice, with its leading space (``" yes"``)."""
    gold: int
    """Index of the correct choice."""
    native_id: str = ""
    """The dataset's own id of the document, when it has one."""
    group: str = ""
    """The subset whose accuracies the task's score averages (MMLU's subject); empty: one accuracy over all."""

    @classmethod
    def shared(cls, doc_id: int, context: str, continuations: Sequence[str], gold: int,
               native_id: str = "", group: str = "") -> Instance:
        """An instance whose choices all follow the same context."""
        return cls(doc_id=doc_id, contexts=(context,) * len(continuations), continuations=tuple(continuations),
                   gold=gold, native_id=native_id, group=group)

    def __post_init__(self) -> None:
        if len(self.contexts) != len(self.continuations) or not self.continuations:
            raise ConfigError(f"document {self.doc_id}: {len(self.contexts)} contexts for "
                              f"{len(self.continuations)} continuations")
        if not 0 <= self.gold < len(self.continuations):
            raise ConfigError(f"document {self.doc_id}: gold {self.gold} is not one of its "
                              f"{len(self.continuations)} choices")

    @property
    def num_choices(self) -> int:
        """How many choices the document has."""
        return len(self.continuations)


@dataclass(kw_only=True)
class TaskConfig:
    """Options every built-in task takes."""

    metric: str | None = None
    """The task's primary metric (default: the OLMo paper's Table 3 choice); one of ``acc_raw``,
    ``acc_per_token``, ``acc_per_char``, ``acc_per_byte``, ``acc_uncond``."""
    limit: int | None = positive(None)
    """Documents of this task (per group, for MMLU's subjects), instead of the evaluator's ``limit``."""


class Task:
    """A downstream task: a name, its instances, and the metric the paper reports for it.

    Subclasses set :attr:`name` and :attr:`default_metric` and implement :meth:`load`.
    """

    name: str = ""
    """The registry name (``arc_easy``); results and in-loop metric keys use it."""
    default_metric: str = "acc_raw"
    """The primary metric when the config does not name one."""
    description: str = ""
    """One line: the dataset, the split and where the data comes from."""
    metrics: tuple[str, ...] = METRICS
    """The metrics the task can be scored by (rank classification's accuracies)."""
    chat_answer: str = "The answer is:"
    """What follows the assistant header when the task is asked through a chat template (open-instruct's MMLU)."""

    def __init__(self, config: TaskConfig | None = None) -> None:
        self.config = config if config is not None else TaskConfig()
        metric = self.config.metric or self.default_metric
        if metric not in self.metrics:
            raise ConfigError(f"task metric {metric!r} is not one of {', '.join(self.metrics)}")
        self.metric = metric
        self._instances: list[Instance] | None = None

    def load(self) -> list[Instance]:
        """Every instance of the task, in dataset order (reading the data on first use)."""
        raise NotImplementedError

    def instances(self) -> list[Instance]:
        """The task's instances, loaded once."""
        if self._instances is None:
            self._instances = self.load()
        return self._instances

    def chat_prompt(self, context: str) -> str:
        """The user message that asks ``context`` through a chat template (the context itself, by default);
        the assistant's turn then starts with :attr:`chat_answer`."""
        return context

    def texts(self) -> Iterator[str]:
        """Every context and continuation once: what ``olmo data decontaminate`` keeps out of training."""
        seen: set[str] = set()
        for instance in self.instances():
            for text in (*instance.contexts, *instance.continuations):
                text = text.strip()
                if text and text not in seen:
                    seen.add(text)
                    yield text


def limit_of(task: object, default: int | None) -> int | None:
    """How many documents of ``task`` to evaluate (per group): its config's own ``limit``, or else ``default``
    (a plugin's task need not have a config)."""
    own = getattr(getattr(task, "config", None), "limit", None)
    return own if own is not None else default


def subsample(instances: Sequence[Instance], limit: int | None, seed: int) -> list[Instance]:
    """At most ``limit`` instances: a seeded random subset kept in dataset order (OLMo-Eval's
    ``random_subsample_seed``), or all of them. A task whose instances name groups (MMLU's subjects, each its
    own task in OLMo-Eval) takes up to ``limit`` from every group, each drawn as OLMo-Eval draws one task's."""
    if limit is not None and limit < 0:
        raise ConfigError(f"limit must be positive, not {limit}")
    groups: dict[str, list[int]] = {}
    for index, instance in enumerate(instances):
        groups.setdefault(getattr(instance, "group", ""), []).append(index)
    keep: list[int] = []
    for members in groups.values():
        chosen = members if limit is None or limit >= len(members) else \
            [members[i] for i in random.Random(seed).sample(range(len(members)), limit)]
        keep += chosen
    return [instances[i] for i in sorted(keep)]
