"""Jobs: one unit of work with typed inputs and outputs, from which the host derives its two faces.

A job is registered through ``olmo_register_jobs`` with a kw-only config dataclass::

    class TagJob(Job):
        command = "data tag"
        inputs = {"input": Slot(Dataset, help="the documents to tag")}
        outputs = {"dataset": Slot(Dataset)}

        def run(self, config, inputs, workdir): ...      # -> JobResult(outputs=..., metrics=...)
        def report(self, result): ...                     # -> Report(markdown=..., figures=[...])

    register("tag", TagJob, config=TagConfig)

From it the host derives ``olmo data tag input=<path> [output=<dir>] key=value ...`` (inputs given as paths,
:mod:`olmo_core.job_command`) and the pipeline stage ``tag`` (inputs wired from the latest earlier output of
the matching artifact type, :mod:`olmo_core.pipeline`). Both faces run it through :func:`execute`, which
marks the work directory incomplete while the job runs, checks the outputs it returns, and keeps
``result.json`` and ``report.md`` there.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import posixpath
import time
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, ClassVar

from olmo_core.artifacts import INCOMPLETE, Artifact, artifact_from_json
from olmo_core.errors import ConfigError, PluginError

__all__ = ["Job", "JobResult", "Report", "Slot", "check_job", "execute", "markdown_table", "read_result", "text_table"]

log = logging.getLogger(__name__)

RESULT = "result.json"
REPORT = "report.md"


@dataclass(frozen=True)
class Slot:
    """One input or output of a job: the artifact type it holds and how many (``Slot(Dataset, many=True)``)."""

    type: type[Artifact]
    """The artifact type."""
    _: KW_ONLY
    many: bool = False
    """An input that takes several artifacts: on the command line a list of paths; in a pipeline every
    earlier output of the type, in order."""
    optional: bool = False
    """An input the job can do without (``None``, or an empty list for ``many``)."""
    help: str = ""
    """What the slot holds, shown by ``--help``."""


@dataclass(kw_only=True)
class Report:
    """What a job shows a person: markdown, and the figures it links (files it drew)."""

    markdown: str = ""
    figures: list[str] = field(default_factory=list)


def markdown_table(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> list[str]:
    """The lines of a markdown table: ``header``, its rule, then one line per row (cells as ``str`` writes them)."""
    lines = ["| " + " | ".join(map(str, row)) + " |" for row in [header, *rows]]
    return [lines[0], "|" + "---|" * len(header), *lines[1:]]


def text_table(rows: Sequence[Sequence[str]], right: Container[int] = ()) -> list[str]:
    """The lines of a plain-text table: cells two spaces apart, padded to their column's widest, the columns
    in ``right`` aligned right (a last column aligned left is not padded)."""
    widths = [max(map(len, column)) for column in zip(*rows, strict=True)]
    if widths and len(widths) - 1 not in right:
        widths[-1] = 0
    return ["  ".join(cell.rjust(width) if i in right else cell.ljust(width)
                      for i, (cell, width) in enumerate(zip(row, widths, strict=True))) for row in rows]


@dataclass(kw_only=True)
class JobResult:
    """What a job's ``run`` returns: its outputs by slot name and JSON-able metrics (never markdown)."""

    outputs: dict[str, Any] = field(default_factory=dict)
    """Slot name to artifact (a list of artifacts for a ``many`` output)."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """Counts, timings, scores: what later jobs, sweeps' comparisons and the report read."""
    workdir: str = ""
    """The directory the job worked in (filled in by :func:`execute`)."""
    seconds: float = 0.0
    """How long ``run`` took (filled in by :func:`execute`)."""
    job: str = ""
    """The job that returned it: its command (``"data tag"``), or its name for a pipeline-only job (filled in by
    :func:`execute`)."""

    def output(self, name: str) -> Any:
        """The output ``name``, or a clear error when the job wrote none of that name."""
        if name not in self.outputs:
            raise ConfigError(f"the job in {self.workdir} has no output '{name}' (it has: "
                              f"{', '.join(self.outputs) or 'none'})")
        return self.outputs[name]

    def to_json(self) -> dict[str, Any]:
        outputs = {k: [a.to_json() for a in v] if isinstance(v, list) else v.to_json() for k, v in self.outputs.items()}
        return {"outputs": outputs, "metrics": self.metrics, "workdir": self.workdir, "seconds": self.seconds,
                "job": self.job}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobResult:
        outputs = {k: [artifact_from_json(a) for a in v] if isinstance(v, list) else artifact_from_json(v)
                   for k, v in data.get("outputs", {}).items()}
        return cls(outputs=outputs, metrics=dict(data.get("metrics", {})), workdir=str(data.get("workdir", "")),
                   seconds=float(data.get("seconds", 0.0)), job=str(data.get("job", "")))


class Job:
    """Base class of jobs. Subclasses set ``command``, ``inputs`` and ``outputs`` and implement ``run``.

    A job reads only its inputs and its config, and writes only under its work directory (or, for a job
    that adds to a dataset in place, beside that dataset: see :meth:`default_workdir`).
    """

    command: ClassVar[str] = ""
    """The ``olmo`` command that runs the job on its own (``"data tag"``); empty: pipeline only."""
    inputs: ClassVar[Mapping[str, Slot]] = {}
    """Input slots by name; on the command line each is a key (``input=<path>``)."""
    outputs: ClassVar[Mapping[str, Slot]] = {}
    """Output slots by name."""
    run_level: ClassVar[bool] = False
    """A pipeline runs the job in the run directory itself, every time, never reusing it (the report)."""

    def default_workdir(self, config: Any, inputs: Mapping[str, Any]) -> str | None:
        """Where the command writes when the user gives no ``output=`` (``None``: ``output=`` is required).

        Jobs that add to a dataset in place (taggers' attributes beside the documents) return its path.
        """
        return None

    def check(self, config: Any, inputs: Mapping[str, Any], workdir: str) -> None:
        """Refuse a run that cannot go well (a :class:`~olmo_core.errors.ConfigError` saying why) before anything
        is written, its work directory included. The default accepts every run."""

    def run(self, config: Any, inputs: Mapping[str, Any], workdir: str) -> JobResult:
        """Do the work: read ``inputs`` (slot name to artifact, or list of artifacts), write under ``workdir``,
        and return the outputs and metrics."""
        raise NotImplementedError

    def report(self, result: JobResult) -> Report:
        """What a person reads about ``result``: markdown and the figures it links (drawn under
        ``result.workdir``). Never changes outputs; the default reports nothing."""
        return Report()


def _check_outputs(job: Job, name: str, result: Any) -> JobResult:
    if not isinstance(result, JobResult):
        raise PluginError(f"job '{name}' returned {type(result).__name__}, not a JobResult")
    for slot_name, slot in job.outputs.items():
        value = result.outputs.get(slot_name)
        values = value if isinstance(value, list) else [value]
        if value is None or not all(isinstance(v, slot.type) for v in values):
            raise PluginError(f"job '{name}' did not return its output '{slot_name}' as a {slot.type.__name__} "
                              f"(got {value!r})")
    return result


def check_job(job: Job, config: Any, inputs: Mapping[str, Any], workdir: str, *, name: str) -> None:
    """What :func:`execute` checks before ``job`` runs, short of its work directory: ``config``'s bounds, that each
    input artifact is usable, then :meth:`Job.check`. A sweep checks all its jobs so before the first one runs."""
    from olmo_core.config import check_bounds

    check_bounds(config)  # composed configs were checked already; this holds for configs built in Python too
    for slot_name, slot in job.inputs.items():
        value = inputs.get(slot_name)
        for artifact in value if isinstance(value, list) else ([value] if value is not None else []):
            if problem := artifact.problem():
                raise ConfigError(f"input '{slot_name}' of job '{name}': {problem}")
    job.check(config, inputs, workdir)


def execute(job: Job, config: Any, inputs: Mapping[str, Any], workdir: str, *, name: str,
            checked: bool = False) -> JobResult:
    """Run ``job`` in ``workdir``: mark it incomplete while the job runs, check what it returns, keep
    ``result.json``, ``report.md`` and the job's ``log.txt`` there; return the result (with ``workdir`` and
    ``seconds`` set).

    ``job`` is checked first (:func:`check_job`) unless ``checked`` says it passed that check already, with these
    ``config``, ``inputs`` and ``workdir`` (and kept what its check built for its run). The temporaries a killed run
    left in ``workdir`` are removed first (:func:`olmo_core.io.remove_temporaries`). In a distributed run (``RANK``
    set by torchrun or olmo's launcher) every rank runs the job and rank 0 alone keeps the record."""
    from olmo_core.io import makedirs, remove, remove_temporaries, write_text
    from olmo_core.logs import log_file

    if not checked:
        check_job(job, config, inputs, workdir, name=name)
    _check_workdir(job, name, workdir)
    main = os.environ.get("RANK", "0") == "0"  # in a distributed run, rank 0 keeps the record
    marker = posixpath.join(workdir, INCOMPLETE)
    if main:
        makedirs(workdir)
        remove_temporaries(workdir)  # a killed run's partial files and checkpoints
        write_text(marker, f"job '{name}' started at {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        for record in (RESULT, REPORT):  # an earlier run's, which would describe outputs this run replaces
            remove(posixpath.join(workdir, record))
    start = time.perf_counter()
    with log_file(workdir) if main else contextlib.nullcontext():
        result = _check_outputs(job, name, job.run(config, inputs, workdir))
    result.workdir, result.seconds, result.job = workdir, round(time.perf_counter() - start, 3), job.command or name
    if not main:
        return result
    report = job.report(result)
    write_text(posixpath.join(workdir, REPORT), relink(report, workdir).rstrip() + "\n")
    write_text(posixpath.join(workdir, RESULT), json.dumps(result.to_json(), indent=2, default=str) + "\n")
    remove(marker)
    return result


def _check_workdir(job: Job, name: str, workdir: str) -> None:
    """Refuse a ``workdir`` that is a file, or that holds what another job finished there (its ``result.json`` and
    ``report.md`` would be replaced, and its outputs mixed with this job's): the same job may run there again
    (to resume, or to redo its work). A result written before results named their job is judged by the kinds of
    its outputs."""
    from olmo_core.io import is_file

    if is_file(workdir):
        raise ConfigError(f"output={workdir} is a file, not a directory: choose a directory for job '{name}'")
    if (previous := read_result(workdir)) is None:
        return
    this = job.command or name
    if previous.job:
        other, what = previous.job != this, f"'{previous.job}'"
    else:
        kinds = {a.kind for v in previous.outputs.values() for a in (v if isinstance(v, list) else [v])}
        wanted = {slot.type.kind for slot in job.outputs.values()}
        other = bool(kinds and wanted and not kinds & wanted)
        what = f"a job whose output is {' and '.join(sorted(kinds))}"
    if other:
        raise ConfigError(f"output={workdir} holds the result of {what}: '{this}' would replace its report.md and "
                          f"result.json; choose another output=")


def relink(report: Report, base: str) -> str:
    """``report``'s markdown with each figure's path made relative to ``base`` (where the markdown lives)."""
    markdown = report.markdown
    for figure in report.figures:
        markdown = markdown.replace(f"]({figure})", f"]({posixpath.relpath(str(figure), base)})")
    return markdown


def read_result(workdir: str) -> JobResult | None:
    """The result a job left in ``workdir`` (``None`` when it did not finish there)."""
    from olmo_core.io import exists, read_text

    path = posixpath.join(workdir, RESULT)
    if not exists(path) or exists(posixpath.join(workdir, INCOMPLETE)):
        return None
    return JobResult.from_json(json.loads(read_text(path)))
