"""The kinds of component that plugins register, one registration hook each.

A kind is named in the plural, as its hook is (``olmo_register_taggers`` registers ``taggers``); ``singular``
is how messages name one component of it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KINDS", "Kind", "get_kind"]


@dataclass(frozen=True, kw_only=True)
class Kind:
    """One kind of registrable component."""

    name: str
    singular: str
    description: str
    group: str
    """The Hydra config group of its configurations, ``<package>/<kind>`` (``data/tagger``); a field that selects
    several components of the kind uses the plural group (``data/taggers``)."""

    @property
    def hook(self) -> str:
        """The name of the registration hook for this kind."""
        return f"olmo_register_{self.name}"


KINDS: dict[str, Kind] = {n: Kind(name=n, singular=s, description=d, group=g) for n, s, d, g in (
    ("models", "model", "model architectures and their presets", "model"),
    ("optimizers", "optimizer", "optimizers", "optim"),
    ("schedulers", "scheduler", "learning-rate schedules", "scheduler"),
    ("tokenizers", "tokenizer", "tokenizers", "tokenizer"),
    ("sources", "source", "document sources", "data/source"),
    ("taggers", "tagger", "document taggers and filters", "data/tagger"),
    ("dedupers", "deduper", "deduplicators", "data/deduper"),
    ("mixers", "mixer", "corpus mixers", "data/mixer"),
    ("train_backends", "train backend", "training backends", "train/backend"),
    ("callbacks", "callback", "trainer callbacks", "train/callback"),
    ("tasks", "task", "downstream evaluation tasks", "eval/task"),
    ("evaluators", "evaluator", "evaluators", "eval/evaluator"),
    ("eval_models", "evaluated model", "kinds of model that `olmo eval` loads and scores", "eval/model"),
    ("adapters", "adapter", "adaptation methods", "adapt/method"),
    ("jobs", "job", "jobs: commands and pipeline stages with typed inputs and outputs", "job"),
    ("commands", "command", "`olmo` subcommands", "command"),
)}


def get_kind(name: str) -> Kind:
    """Return the kind called ``name`` (plural or singular)."""
    from olmo_core.errors import UnknownComponentError

    for kind in KINDS.values():
        if name in (kind.name, kind.singular):
            return kind
    raise UnknownComponentError("component kind", name, KINDS)
