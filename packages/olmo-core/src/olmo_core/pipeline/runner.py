"""Running a pipeline's jobs in order, wiring each job's inputs by artifact type, resuming what is done.

Each stage is a registered job (:mod:`olmo_core.jobs`) working in ``<run>/stages/<NN>-<name>/``. An input
slot takes the latest earlier output of its type (every earlier output of it for a ``many`` slot), unless
``inputs.<stage>.<slot>`` names earlier stages or paths. Every stage's inputs are wired and checked before
the first job runs. A path input is known by the sha256 of its files. ``<run>/hashes.json`` keeps a local
file's beside its device, inode, size and modification and change times: a file whose five are unchanged is not
read again (no edit leaves the change time as it was).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olmo_core.artifacts import Artifact, JobRecord
from olmo_core.cache import file_signature, key_of, url_sha256
from olmo_core.config import config_of, to_dict
from olmo_core.errors import ConfigError
from olmo_core.io import write_text
from olmo_core.jobs import Job, JobResult, Slot, execute, read_result
from olmo_core.plugins import get_host
from olmo_core.registry import resolve_components

__all__ = ["PlannedStage", "plan_stages", "run_stages"]

log = logging.getLogger(__name__)

DONE = "done.json"
HASHES = "hashes.json"
ATTEMPT = "attempt.json"


@dataclass(kw_only=True)
class PlannedStage:
    """One stage of a pipeline: its job, its checked config and where its inputs come from."""

    name: str
    job: Job
    config: Any
    sources: dict[str, Any] = field(default_factory=dict)
    """Input slot to the earlier stage names (or artifacts, for paths) it reads."""


def _explicit(name: str, slot_name: str, slot: Slot, value: Any, earlier: list[str]) -> list[Any]:
    values = [value] if isinstance(value, str) else list(value or [])
    for item in values:
        if item not in earlier and not (isinstance(item, str) and item):
            raise ConfigError(f"inputs.{name}.{slot_name}={value!r}: give earlier stages ({', '.join(earlier)}) "
                              f"or paths")
    artifacts = [item if item in earlier else slot.type(path=item) for item in values]
    for artifact in artifacts:  # a path is checked now, not when its stage comes after hours of earlier ones
        if not isinstance(artifact, str) and (problem := artifact.problem()):
            raise ConfigError(f"inputs.{name}.{slot_name}: {problem}")
    return artifacts


def plan_stages(stages: Mapping[str, Any], explicit: Mapping[str, Any] | None = None) -> list[PlannedStage]:
    """Build every stage's job and config and wire its inputs, or raise a :class:`ConfigError` naming the
    stage and slot that nothing before it provides."""
    registry = get_host().registry("jobs")
    explicit = dict(explicit or {})
    unknown = [s for s in explicit if s not in stages]
    if unknown:
        raise ConfigError(f"inputs.{unknown[0]}: no stage '{unknown[0]}' in this pipeline ({', '.join(stages)})")
    planned: list[PlannedStage] = []
    produced: list[tuple[str, type[Artifact]]] = []
    for name, raw in stages.items():
        component = registry.component_of(raw)
        config = resolve_components(raw, get_host().registry, prefix=f"stages.{name}")
        config = config_of(component.config, config) if component.config is not None else None
        job: Job = component.factory()
        stage = PlannedStage(name=name, job=job, config=config)
        wiring = dict(explicit.get(name) or {})
        for slot_name in wiring:
            if slot_name not in job.inputs:
                raise ConfigError(f"inputs.{name}.{slot_name}: job '{component.name}' has no input '{slot_name}' "
                                  f"(it has: {', '.join(job.inputs) or 'none'})")
        earlier = [n for n, _ in produced]
        for slot_name, slot in job.inputs.items():
            if slot_name in wiring:
                sources = _explicit(name, slot_name, slot, wiring[slot_name], earlier)
            else:
                matching = [n for n, t in produced if issubclass(t, slot.type)]
                sources = matching if slot.many else matching[-1:]
            if not sources and not slot.optional:
                raise ConfigError(f"stage '{name}' needs a {slot.type.kind} for its input '{slot_name}' and no "
                                  f"stage before it makes one: add one, or set inputs.{name}.{slot_name}=<path>")
            stage.sources[slot_name] = sources
        produced += [(name, slot.type) for slot in job.outputs.values()] + [(name, JobRecord)]
        planned.append(stage)
    return planned


def _inputs(stage: PlannedStage, results: Mapping[str, JobResult]) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    for slot_name, slot in stage.job.inputs.items():
        found: list[Any] = []
        for source in stage.sources[slot_name]:
            made = [source] if isinstance(source, Artifact) else _artifacts_of(results[source])
            found += [a for a in made if isinstance(a, slot.type)]
        inputs[slot_name] = found if slot.many else (found[-1] if found else None)
    return inputs


def _artifacts_of(result: JobResult) -> list[Artifact]:
    made = [a for value in result.outputs.values() for a in (value if isinstance(value, list) else [value])]
    return [*made, JobRecord(path=result.workdir)]


def _sha256(url: str, known: dict[str, list[Any]]) -> str:
    if "://" in url.removeprefix("file://"):
        return url_sha256(url)
    path = os.path.abspath(url.removeprefix("file://"))
    signature = list(file_signature(Path(path)))
    if known.get(path, [])[:-1] != signature:
        known[path] = [*signature, url_sha256(path)]
    return str(known[path][-1])


def _content_key(artifact: Artifact, known: dict[str, list[Any]]) -> str:
    """What a path input holds: the content of its files (:meth:`Artifact.files`)."""
    if not artifact.is_complete():
        return "incomplete"  # the job refuses it with its own error
    files = artifact.files()
    return key_of([_sha256(file, known) for file in files], files)


def _fingerprint(previous: str, stage: PlannedStage, inputs: Mapping[str, Any],
                 known: dict[str, list[Any]]) -> str:
    wired = {k: [a.to_json() for a in v] if isinstance(v, list) else (v.to_json() if v else None)
             for k, v in inputs.items()}
    paths = [_content_key(s, known) for sources in stage.sources.values() for s in sources if isinstance(s, Artifact)]
    text = json.dumps({"previous": previous, "stage": stage.name, "config": to_dict(stage.config), "inputs": wired,
                       **({"content": paths} if paths else {})}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _fingerprint_in(path: Path) -> str | None:
    return json.loads(path.read_text()).get("fingerprint") if path.is_file() else None


def run_stages(run_dir: Path, stages: list[PlannedStage], *, restart: bool = False) -> list[dict[str, Any]]:
    """Run the planned ``stages`` in order under ``run_dir``; return one record per stage.

    A stage whose ``done.json`` records the same fingerprint (its config, its inputs and every earlier
    stage's) is not run again and its saved result is reused, unless a stage before it ran in this run or its
    job is ``run_level`` (as the report is). A stage that fails or is killed leaves no ``done.json``, so
    the next run starts there; its directory is kept when its configuration is unchanged (``attempt.json``),
    so that a job that resumes by itself (training from its checkpoints) does.
    """
    records: list[dict[str, Any]] = []
    results: dict[str, JobResult] = {}
    previous = ""
    upstream_ran = False
    hashes = run_dir / HASHES
    known: dict[str, list[Any]] = json.loads(hashes.read_text()) if hashes.is_file() else {}
    for index, stage in enumerate(stages):
        name, run_level = stage.name, stage.job.run_level
        stage_dir = run_dir if run_level else run_dir / "stages" / f"{index:02d}-{name}"
        inputs = _inputs(stage, results)
        before = dict(known)
        fingerprint = _fingerprint(previous, stage, inputs, known)
        if known != before:
            write_text(str(hashes), json.dumps(known) + "\n")
        done, attempt = stage_dir / DONE, stage_dir / ATTEMPT
        reused = None
        if not (restart or upstream_ran or run_level) and _fingerprint_in(done) == fingerprint:
            reused = read_result(str(stage_dir))
        if reused is not None:
            log.info("[%d/%d] %s: completed earlier, reusing its result", index + 1, len(stages), name)
            result, status = reused, "reused"
        else:
            if not run_level:
                if stage_dir.exists() and (restart or _fingerprint_in(attempt) != fingerprint):
                    shutil.rmtree(stage_dir)
                stage_dir.mkdir(parents=True, exist_ok=True)
                write_text(str(attempt), json.dumps({"fingerprint": fingerprint}) + "\n")
            log.info("[%d/%d] %s ...", index + 1, len(stages), name)
            result = execute(stage.job, stage.config, inputs, str(stage_dir), name=name)
            status, upstream_ran = "ran", True
            if not run_level:
                write_text(str(done), json.dumps({"stage": name, "fingerprint": fingerprint}, indent=2) + "\n")
            log.info("[%d/%d] %s: done in %.1fs", index + 1, len(stages), name, result.seconds)
        results[name] = result
        records.append({"stage": name, "status": status, "seconds": result.seconds, "result": result})
        previous = fingerprint
    return records
