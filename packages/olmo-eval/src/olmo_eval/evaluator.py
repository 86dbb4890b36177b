"""The evaluator interface. The ``evaluators`` registry is the only way evaluation is built (``olmo eval``
jobs, the pipeline's ``evaluate`` job and the in-loop callback alike); see docs/evaluation.md, "Adding an
evaluator"."""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from olmo_core.errors import ConfigError
from olmo_core.io import makedirs, open_atomic, write_text
from olmo_core.jobs import Report, markdown_table
from olmo_core.plugins import get_host

__all__ = ["Evaluation", "Evaluator", "build_evaluators", "check_evaluators"]


def _cell(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-" if value is None else str(value)


@dataclass(kw_only=True)
class Evaluation:
    """What :meth:`Evaluator.evaluate` returns: the base holds flat ``values``; subclasses hold their records
    and override :meth:`metrics`, :meth:`summary`, :meth:`samples` and :meth:`table`."""

    title: ClassVar[str] = "Evaluation"
    """The heading of ``results.md``: ``# <title> of <checkpoint>``."""
    meta: dict[str, Any] = field(default_factory=dict)
    """What was evaluated and how (checkpoint, step, tokenizer, seconds ...), written first in ``results.json``."""
    values: dict[str, float] = field(default_factory=dict)
    """Flat metrics, for an evaluation that keeps nothing else."""

    def metrics(self) -> dict[str, float]:
        """Flat metrics by name (``copa/acc``), which the in-loop callback logs as ``eval/<name>``."""
        return dict(self.values)

    def summary(self) -> dict[str, Any]:
        """Everything but the per-example records, JSON-able: the body of ``results.json``."""
        return self.metrics()

    def samples(self) -> list[dict[str, Any]]:
        """One JSON-able record per example (``samples.jsonl``)."""
        return []

    def table(self) -> str:
        """The results as a markdown table (``results.md``, printed by the commands)."""
        return "\n".join(markdown_table(["metric", "value"], ((k, _cell(v)) for k, v in self.metrics().items()))) + "\n"

    def write(self, directory: str) -> None:
        """Write ``results.json``, ``samples.jsonl`` and ``results.md`` into ``directory``."""
        makedirs(directory)
        write_text(posixpath.join(directory, "results.json"),
                   json.dumps({**self.meta, **self.summary()}, indent=2) + "\n")
        with open_atomic(posixpath.join(directory, "samples.jsonl"), "wt", encoding="utf-8") as f:
            for record in self.samples():
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
        write_text(posixpath.join(directory, "results.md"),
                   f"# {self.title} of {self.meta.get('checkpoint', 'a model')}\n\n" + self.table())


class Evaluator:
    """Base class of evaluators, built from their registered config."""

    def __init__(self, config: Any = None) -> None:
        self.config = config

    def prepare(self) -> None:
        """Read what is evaluated on now (the in-loop callback calls it when training starts)."""

    def check(self) -> None:
        """Refuse, before any model loads, options that would fail once it has (the jobs' checks call it): a
        :class:`~olmo_core.errors.ConfigError` of one line, naming the key (relative to the evaluator's options)."""

    def evaluate(self, model: Any, tokenizer: Any, *, progress: bool = False) -> Evaluation:
        """Evaluate ``model`` (in eval mode for the call; its mode is restored) with ``tokenizer``."""
        raise NotImplementedError

    @classmethod
    def compare(cls, name: str, evaluations: Mapping[str, Evaluation], workdir: str) -> tuple[dict[str, Any], Report]:
        """Models' evaluations (label to evaluation) side by side: metrics and a report section (figures drawn
        into ``workdir``) for ``olmo eval compare``; by default ``{name: {label: metrics}}`` and their table."""
        values = {label: evaluation.metrics() for label, evaluation in evaluations.items()}
        keys = list(dict.fromkeys(k for v in values.values() for k in v))
        rows = ([k, *(_cell(v.get(k)) for v in values.values())] for k in keys)
        return {name: values}, Report(markdown="\n".join([f"{name}:", "", *markdown_table(["metric", *values], rows)]))


def check_evaluators(evaluators: Mapping[str, Evaluator], key: str) -> None:
    """Each evaluator's :meth:`~Evaluator.check`, its error's key put under ``key`` (the field that selects them:
    ``evaluators``, ``callbacks.evaluate.evaluators``): ``evaluators.downstream.tasks.copa: ...``."""
    for name, evaluator in evaluators.items():
        try:
            evaluator.check()
        except ConfigError as exc:
            first = re.split(r"[.:= \[]", str(exc), maxsplit=1)[0]
            config = evaluator.config
            keyed = dataclasses.is_dataclass(config) and first in {f.name for f in dataclasses.fields(config)}
            raise ConfigError(f"{key}.{name}.{exc}" if keyed else f"{key}.{name}: {exc}") from None


def build_evaluators(specs: Any) -> dict[str, Evaluator]:
    """The evaluators a ``components("evaluators")`` field selects: names, or (as composed) each name with its
    configuration; built through the ``evaluators`` registry."""
    registry = get_host().registry("evaluators")
    pairs = specs.items() if isinstance(specs, Mapping) else ((name, name) for name in specs or ())
    built = {name: registry.build(spec) for name, spec in pairs}
    if not built:
        raise ConfigError(f"no evaluators to run: choose some with evaluators=[...] (available: "
                          f"{', '.join(registry.options())})")
    return built
