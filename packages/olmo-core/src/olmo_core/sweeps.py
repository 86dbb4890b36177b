"""Where the jobs of a command's Hydra sweep (``olmo <command> output=<dir> -m key=a,b ...``) write, and the
comparison of what they report.

Each job of a sweep keeps its record (``result.json``, ``report.md``, ``log.txt``) in its own work directory,
``<dir>/<swept values>`` (:func:`job_dir`), named after its values alone, not its place in the sweep, so that a
sweep run again with its values in another order, or with more of them, resumes each job where it ran before.
The data it writes (documents, attributes, token parts ...) goes to :func:`data_output`:

- a sweep that varies nothing but ``shard`` (``-m shard=0/4,1/4,...``, the sharded recipe; likewise dedup's
  ``partition``, see :data:`SPLITS`): ``<dir>`` itself, shared by the shards, which together write one dataset;
- a sweep that does not vary ``shard`` (thresholds, taggers, rules ...): the job's own work directory, so that
  no job overwrites another's data (``<dir>/exclude=.../documents/...``);
- a sweep over ``shard`` and other keys: ``<dir>/<the job's values of the other keys>``, shared by the shards
  of one combination of the other values (``<dir>/exclude=.../documents/...``).

A job learns which keys the sweep varies from its own Hydra config, which a launcher hands to the process that
runs the job (the basic launcher in this process, submitit's in a process of its own, as joblib's does): the
runner lists the keys that the command line sets once, but ``shard`` and ``partition``, in
``hydra.job.config.override_dirname.exclude_keys`` (so that job directories are named after the swept values
alone, and a one-job sweep of ``-m shard=1/4`` after its shard), and the swept keys are the job's overrides less
those (:func:`olmo_core.overrides.swept_values`).

After each job of a sweep that varies more than ``shard``, :func:`write_sweep_comparison` rewrites
``<dir>/comparison.md`` and ``comparison.json`` from every finished or failed job of this sweep, so that the last job
to end leaves the whole sweep compared (the jobs that an earlier sweep left in ``<dir>`` are not compared: each job
keeps the id of its sweep, :data:`SWEEP_ID`, beside its values): per job, its swept values, the records in, written,
dropped and quarantined, the documents each rule dropped and what each source kept and lost, as the jobs' results
report them, or the error of a job that failed.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olmo_core.errors import ConfigError
from olmo_core.io import exists, glob, read_text, write_text
from olmo_core.jobs import read_result

__all__ = ["SPLITS", "SWEEP_FILE", "SWEEP_ID", "SweepJob", "check_own_directory", "current", "data_output",
           "directory_label", "job_at", "job_dir", "job_label", "record_job", "swept_overrides",
           "write_sweep_comparison"]

SPLITS = ("shard", "partition")
"""The keys whose sweep splits one step's work between jobs that write one output: ``shard=i/N`` (the input's
files), ``partition=i/N`` (``olmo data dedup phase=decide``'s keys)."""
SWEEP_FILE = "sweep.json"
"""What a sweep job keeps beside its ``result.json``: its number, the values it sweeps and its sweep's id."""
SWEEP_ID = "OLMO_SWEEP_ID"
"""The variable of each job's environment (``hydra.job.env_set``) that the runner sets to one new id per sweep
(``olmo <command> -m ...``), so that a sweep's comparison leaves out the jobs of other sweeps in its output."""
COUNTS = {"records": "documents in", "written": "written", "dropped": "dropped", "quarantined": "quarantined"}
"""The counts every data step reports (:func:`olmo_data.layout.counted`), with their column headers."""


def directory_label(text: str) -> str:
    """``text`` as a directory name: runs of characters other than letters, digits and ``._=,-`` become ``_``."""
    return re.sub(r"[^A-Za-z0-9._=,-]+", "_", text)


def swept_overrides(task: Sequence[str], fixed: Sequence[str]) -> list[str]:
    """The overrides with which one job of a sweep sets the keys the sweep varies, as a user types them
    (``tasks=[sciq]``, not the ``olmo/eval/tasks@tasks=[sciq]`` that Hydra receives), sorted: its overrides ``task``
    less those of the keys (groups) in ``fixed``. They name the job: in its log lines and errors (joined by
    spaces), its comparison and its directory (joined by commas, :func:`job_label`)."""
    from olmo_core.overrides import as_typed, parse_overrides

    return sorted(as_typed([str(ov.input_line) for ov in parse_overrides(task) if ov.key_or_group not in fixed]))


def job_label(task: Sequence[str], fixed: Sequence[str]) -> str:
    """The name of the work directory of the sweep job whose overrides are ``task`` (less the keys in ``fixed``):
    its :func:`swept_overrides`, joined by commas, as a directory name (``tasks=_sciq_``, ``lr=0.001,seed=1``)."""
    return directory_label(",".join(swept_overrides(task, fixed)))


@dataclass(frozen=True)
class SweepJob:
    """One job of a Hydra sweep, as it sees itself."""

    num: int
    """Its number in the sweep (from 0)."""
    label: str
    """Its swept values as a user types them, made a directory name (:func:`job_label`)."""
    values: dict[str, str] = field(default_factory=dict)
    """The value of each swept key, by the key as a user types it."""
    sweep: str = ""
    """The id of its sweep (:data:`SWEEP_ID`), empty for a sweep that the runner did not start."""

    def directory(self, base: str) -> str:
        """The job's work directory in the sweep whose ``output`` is ``base``: ``base/<its swept values>``
        (``base/defaults`` for a sweep of one job that varies nothing)."""
        return f"{base.rstrip('/')}/{self.label or 'defaults'}"

    @property
    def shards_only(self) -> bool:
        """Whether the sweep varies nothing but ``shard`` (or ``partition``, see :data:`SPLITS`): its jobs write one
        output together."""
        return set(self.values) <= set(SPLITS)

    @property
    def split(self) -> bool:
        """Whether the sweep varies ``shard`` or ``partition``: some of its jobs write one output together."""
        return any(key in self.values for key in SPLITS)

    def group(self) -> str:
        """The values of the swept keys other than ``shard`` and ``partition``, as a directory name (keys sorted,
        as Hydra sorts ``override_dirname``)."""
        others = sorted((k, v) for k, v in self.values.items() if k not in SPLITS)
        return directory_label(",".join(f"{k}={v}" for k, v in others))


def current() -> SweepJob | None:
    """The sweep job this process runs, or ``None`` outside a Hydra multirun."""
    from hydra.core.hydra_config import HydraConfig

    from olmo_core.overrides import swept_values

    if not HydraConfig.initialized():
        return None
    hydra = HydraConfig.get()
    if str(hydra.mode) != "RunMode.MULTIRUN":
        return None
    fixed = [str(key) for key in hydra.job.config.override_dirname.exclude_keys]
    task = [str(o) for o in hydra.overrides.task]
    return SweepJob(num=int(hydra.job.num), label=job_label(task, fixed), values=swept_values(task, fixed),
                    sweep=str(hydra.job.env_set.get(SWEEP_ID, "")))


def job_dir(base: str) -> str:
    """``base``, or inside a Hydra sweep ``base/<swept values>``, so that jobs never share it
    (:func:`check_own_directory`)."""
    job = current()
    if job is None:
        return base
    check_own_directory(job.directory(base), job)
    return job.directory(base)


def job_at(workdir: str) -> SweepJob | None:
    """The sweep job this process runs when ``workdir`` is that job's own directory (:func:`job_dir`); ``None``
    outside a sweep and for the work directories of steps inside a sweep's job (a pipeline's stages)."""
    workdir = workdir.rstrip("/")
    job = current()
    parent = posixpath.dirname(workdir)
    return job if job is not None and parent and job.directory(parent) == workdir else None


def data_output(workdir: str) -> str:
    """Where the job working in ``workdir`` writes its data: ``workdir`` itself, unless it is a sweep job's
    directory (:func:`job_dir`) and the sweep varies ``shard`` (or nothing): then the sweep's ``output`` when the
    sweep varies nothing else, else ``<output>/<the job's other swept values>`` (see the module's documentation)."""
    workdir = workdir.rstrip("/")
    job = job_at(workdir)
    parent = posixpath.dirname(workdir)
    if job is None:
        return workdir
    if job.shards_only:  # shards (or a "sweep" of one job, which varies nothing) write one output
        return parent
    return f"{parent}/{job.group()}" if job.split else workdir


def check_own_directory(workdir: str, job: SweepJob) -> None:
    """Refuse to run ``job`` in ``workdir`` when another job of a sweep ended there: two jobs whose values differ only
    in characters a directory name cannot hold (``a/b`` and ``a_b``) would share it."""
    path = posixpath.join(workdir, SWEEP_FILE)
    if exists(path) and (other := json.loads(read_text(path)).get("values")) != job.values:
        raise ConfigError(f"the sweep job {job.values} would work in {workdir}, where the job {other} ran: their "
                          f"values name the same directory; run them in sweeps of their own (another output=)")


def record_job(workdir: str, job: SweepJob, error: str | None = None) -> None:
    """Keep ``job``'s number, swept values and sweep's id in ``workdir/sweep.json``, and its ``error`` when it failed,
    for the sweep's comparison."""
    record = {"number": job.num, "values": job.values} | ({"sweep": job.sweep} if job.sweep else {}) \
        | ({"error": error} if error is not None else {})
    write_text(posixpath.join(workdir, SWEEP_FILE), json.dumps(record, indent=2) + "\n")


def _ended(base: str, sweep: str) -> list[dict[str, Any]]:
    """Each job of the sweep ``sweep`` (its id; empty: of any sweep) in ``base`` that finished (its directory's name,
    number, swept values and metrics) or failed (its directory's name, number, swept values and error), by number."""
    jobs = []
    for path in glob(f"{base.rstrip('/')}/*/{SWEEP_FILE}"):
        workdir = posixpath.dirname(path)
        job = {"job": posixpath.basename(workdir), **json.loads(read_text(path))}
        if job.pop("sweep", "") != sweep and sweep:  # a job of an earlier sweep into the same output
            continue
        if "error" in job:
            jobs.append(job | {"metrics": {}})
        elif (result := read_result(workdir)) is not None:
            jobs.append(job | {"metrics": result.metrics})
    return sorted(jobs, key=lambda job: job["number"])


def _counts(metrics: dict[str, Any]) -> dict[str, Any]:
    """A job's records in, written, dropped and quarantined, documents dropped per rule (``dropped_by``) or, for a
    tagging job, failing a rule (``failing``), and kept and dropped per source (``per_source``), from its metrics
    (those of ``data filter``, ``data tag``, ``data mix`` ...; a source's documents as ``documents`` when the job
    reports only ``documents_per_source``; what a job does not report is left out)."""
    counts: dict[str, Any] = {key: metrics[key] for key in COUNTS if key in metrics}
    for rules in ("dropped_by", "failing"):
        if isinstance(metrics.get(rules), dict):
            counts[rules] = dict(metrics[rules])
    if isinstance(metrics.get("per_source"), dict):
        counts["per_source"] = {source: {"kept": c.get("kept", 0), "dropped": c.get("dropped", 0)}
                                for source, c in metrics["per_source"].items()}
    elif isinstance(metrics.get("documents_per_source"), dict):
        counts["per_source"] = {source: {"documents": n} for source, n in metrics["documents_per_source"].items()}
    return counts


_NESTED_SKIPPED = ("config", "details", "per_source")
"""Parts of a nested report (a deduper's) that a sweep's comparison leaves out: its options (the swept values are
shown), its internals and its per-source breakdown."""


def _numbers(metrics: dict[str, Any], prefix: str = "") -> dict[str, int | float]:
    """The numbers among a job's metrics, those of nested reports (a deduper's, by its name) as ``<name>.<key>``
    (less their options, internals, per-source breakdown and speeds)."""
    found: dict[str, int | float] = {}
    for key, value in metrics.items():
        if prefix and (key in _NESTED_SKIPPED or key.endswith(("_per_second", "seconds"))):
            continue
        if isinstance(value, dict):
            found |= _numbers(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found[f"{prefix}{key}"] = value
    return found


def _columns(jobs: list[dict[str, Any]]) -> list[str]:
    """The table's columns for the jobs' :func:`_counts`: ``documents in`` ... ``quarantined``, then ``dropped
    by <rule>`` (or ``failing <rule>``) for every rule of any job, then ``<source> kept`` and ``<source> dropped``
    for every source."""
    counts = [job["counts"] for job in jobs]
    rules = dict.fromkeys(f"{label} {rule}" for c in counts for key, label in _RULES.items()
                          for rule in c.get(key, {}))
    sources = dict.fromkeys(f"{source} {what}" for c in counts for source, n in c.get("per_source", {}).items()
                            for what in n)
    return [label for key, label in COUNTS.items() if any(key in c for c in counts)] + [*rules, *sources]


def _cells(counts: dict[str, Any]) -> dict[str, Any]:
    """:func:`_counts` by the columns of :func:`_columns`."""
    cells = {label: counts[key] for key, label in COUNTS.items() if key in counts}
    cells |= {f"{label} {rule}": n for key, label in _RULES.items() for rule, n in counts.get(key, {}).items()}
    return cells | {f"{source} {what}": n for source, c in counts.get("per_source", {}).items()
                    for what, n in c.items()}


_RULES = {"dropped_by": "dropped by", "failing": "failing"}
"""The counts per rule a job may report, and the words before each rule in its column."""


def _row(job: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    """A job's cells in the columns of :func:`_columns` (0 for a count it lacks), or its error when it failed."""
    if "error" in job:
        return {"error": job["error"]}
    return {key: _cells(job["counts"]).get(key, 0) for key in columns}


def write_sweep_comparison(base: str, sweep: str | None = None) -> str | None:
    """Compare the finished and failed jobs of the sweep ``sweep`` (its id, :data:`SWEEP_ID`; by default the sweep
    this process runs a job of; empty: every sweep's) whose ``output`` is ``base``, leaving out those that other
    sweeps left there: write ``base/comparison.md``
    (a table, one row per job: its swept values, then its counts, per rule and per source, a count a job lacks
    being 0, and the error of each failed job, whose counts are ``-``) and ``comparison.json`` (the same, per job);
    return the markdown file's path (``None`` with fewer than 2 jobs, or when no job failed nor reports any of
    those counts).

    A job that sees fewer ended jobs than the comparison already lists (it read before another ended) leaves it
    as it is."""
    from olmo_core.pipeline.compare import comparison_table, differing, loss_plot

    base = base.rstrip("/")
    if sweep is None:
        sweep = this.sweep if (this := current()) is not None else ""
    jobs = _ended(base, sweep)
    if len(jobs) < 2:
        return None
    names = {job["job"] for job in jobs}
    previous = posixpath.join(base, "comparison.json")
    if exists(previous) and (compared := json.loads(read_text(previous))).get("id", "") == sweep \
            and names < {job["job"] for job in compared["jobs"]}:
        return posixpath.join(base, "comparison.md")
    metrics = {job["job"]: job.pop("metrics") for job in jobs}
    for job in jobs:
        job["counts"] = _counts(metrics[job["job"]])
    failed = sum("error" in job for job in jobs)
    swept = list(dict.fromkeys(key for job in jobs for key in job["values"]))
    whose = f"{len(jobs)} jobs, over {', '.join(swept)}{f', {failed} of them failed' if failed else ''}"
    figure = None
    if any(job["counts"] for job in jobs):
        columns = _columns(jobs)
        cells = {job["job"]: _row(job, columns) for job in jobs}
        intro = (f"{whose}; documents in, written, dropped and quarantined, dropped (or, tagging, failing) per rule "
                 "and kept/dropped per source:")
    else:  # a sweep of training, evaluation ...: the figures that differ, and the loss curves of training runs
        for job in jobs:
            job["results"] = _numbers(metrics[job["job"]])
        columns = differing({job["job"]: job["results"] for job in jobs if "error" not in job})
        if not failed and not columns:
            return None
        cells = {job["job"]: {"error": job["error"]} if "error" in job else job["results"] for job in jobs}
        intro = f"{whose}; the results that differ between them:"
        if "://" not in base:  # a plot is drawn on a local disk
            figure = loss_plot(Path(base) / "comparison_loss.png", {name: {"job": m} for name, m in metrics.items()})
    columns = [column for column in columns if column not in swept]  # a swept key that a job also reports (eval's
    # limit) is one column, of the value the job was given
    rows = {job["job"]: cells[job["job"]] | {key: job["values"].get(key, "-") for key in swept} for job in jobs}
    table = comparison_table("job", rows, [*swept, *columns, *(["error"] if failed else [])])
    lines = [f"# Sweep: {posixpath.basename(base)}", "", intro, "", *table,
             *(["", f"![training loss]({figure.name})"] if figure else [])]
    summary = {"sweep": base, "id": sweep, "swept": swept,
               "jobs": [{"job": job["job"], "number": job["number"], "values": job["values"], **job["counts"],
                         **({"results": job["results"]} if "results" in job else {}),
                         **({"error": job["error"]} if "error" in job else {})} for job in jobs]}
    write_text(previous, json.dumps(summary, indent=2) + "\n")
    report = posixpath.join(base, "comparison.md")
    write_text(report, "\n".join(lines) + "\n")
    return report
