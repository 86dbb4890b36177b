"""The stage interface: what a pipeline stage receives and returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from olmo_core.errors import ConfigError

__all__ = ["Stage", "StageContext"]


@dataclass(kw_only=True)
class StageContext:
    """Where a stage works and what the stages before it produced."""

    run_dir: Path
    """The run directory (``runs/<name>``)."""
    stage_dir: Path
    """This stage's own directory inside the run directory, created for it."""
    name: str
    """The stage's name in this pipeline."""
    seed: int
    """The run's seed."""
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each earlier stage's result, by stage name (what its ``run`` returned)."""
    options: dict[str, Any] = field(default_factory=dict)
    """The run-wide settings this stage's class lists in ``reads_options`` (e.g. ``train``)."""

    def result(self, stage: str, key: str) -> Any:
        """``key`` of an earlier stage's result; a clear error when that stage did not run or has no such key."""
        if stage not in self.results:
            ran = ", ".join(self.results) or "none"
            raise ConfigError(f"stage '{self.name}' needs the result of stage '{stage}', which did not run before "
                              f"it (stages before it: {ran})")
        if key not in self.results[stage]:
            raise ConfigError(f"stage '{stage}' produced no '{key}' for stage '{self.name}'")
        return self.results[stage][key]


@runtime_checkable
class Stage(Protocol):
    """A pipeline stage, registered through ``olmo_register_stages``.

    Optional class attributes: ``always_run = True`` runs the stage on every run (the report);
    ``reads_options = ("train",)`` hands it those run-wide settings in ``context.options``.
    """

    def run(self, context: StageContext) -> dict[str, Any]:
        """Do the stage's work under ``context.stage_dir`` and return a JSON-able result (paths, counts,
        metrics) that later stages and the report read."""
        ...
