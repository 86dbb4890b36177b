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


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(name="models", singular="model", description="model architectures and their presets", group="model"),
        Kind(name="optimizers", singular="optimizer", description="optimizers", group="optim"),
        Kind(name="schedulers", singular="scheduler", description="learning-rate schedules", group="scheduler"),
        Kind(name="tokenizers", singular="tokenizer", description="tokenizers", group="tokenizer"),
        Kind(name="sources", singular="source", description="document sources", group="data/source"),
        Kind(name="taggers", singular="tagger", description="document taggers and filters", group="data/tagger"),
        Kind(name="dedupers", singular="deduper", description="deduplicators", group="data/deduper"),
        Kind(name="mixers", singular="mixer", description="corpus mixers", group="data/mixer"),
        Kind(name="train_backends", singular="train backend", description="training backends",
             group="train/backend"),
        Kind(name="callbacks", singular="callback", description="trainer callbacks", group="train/callback"),
        Kind(name="tasks", singular="task", description="downstream evaluation tasks", group="eval/task"),
        Kind(name="evaluators", singular="evaluator", description="evaluators", group="eval/evaluator"),
        Kind(name="adapters", singular="adapter", description="adaptation methods", group="adapt/method"),
        Kind(name="jobs", singular="job", description="jobs: commands and pipeline stages with typed inputs and outputs",
             group="job"),
        Kind(name="commands", singular="command", description="`olmo` subcommands", group="command"),
    )
}


def get_kind(name: str) -> Kind:
    """Return the kind called ``name`` (plural or singular)."""
    from olmo_core.errors import UnknownComponentError

    for kind in KINDS.values():
        if name in (kind.name, kind.singular):
            return kind
    raise UnknownComponentError("component kind", name, KINDS)
