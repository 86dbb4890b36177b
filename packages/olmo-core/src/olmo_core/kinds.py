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

    @property
    def hook(self) -> str:
        """The name of the registration hook for this kind."""
        return f"olmo_register_{self.name}"


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(name="models", singular="model", description="model architectures and their presets"),
        Kind(name="optimizers", singular="optimizer", description="optimizers"),
        Kind(name="schedulers", singular="scheduler", description="learning-rate schedules"),
        Kind(name="tokenizers", singular="tokenizer", description="tokenizers"),
        Kind(name="sources", singular="source", description="document sources"),
        Kind(name="taggers", singular="tagger", description="document taggers and filters"),
        Kind(name="dedupers", singular="deduper", description="deduplicators"),
        Kind(name="mixers", singular="mixer", description="corpus mixers"),
        Kind(name="train_backends", singular="train backend", description="training backends"),
        Kind(name="callbacks", singular="callback", description="trainer callbacks"),
        Kind(name="tasks", singular="task", description="downstream evaluation tasks"),
        Kind(name="evaluators", singular="evaluator", description="evaluators"),
        Kind(name="adapters", singular="adapter", description="adaptation methods"),
        Kind(name="jobs", singular="job", description="jobs: commands and pipeline stages with typed inputs and outputs"),
        Kind(name="commands", singular="command", description="`olmo` subcommands"),
    )
}


def get_kind(name: str) -> Kind:
    """Return the kind called ``name`` (plural or singular)."""
    from olmo_core.errors import UnknownComponentError

    for kind in KINDS.values():
        if name in (kind.name, kind.singular):
            return kind
    raise UnknownComponentError("component kind", name, KINDS)
