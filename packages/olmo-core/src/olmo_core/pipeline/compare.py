"""Side-by-side comparison of the runs of a sweep: ``<runs_dir>/<name>/comparison.md``.

Every job of ``olmo pipeline -m ...`` writes its run into ``<runs_dir>/<name>/<job>-<swept values>/``; after
each job, the comparison is rewritten from every job directory that holds a finished pipeline, so the last
job to finish leaves the whole sweep compared: a table of each run's numeric stage results (final loss,
accuracies, bits per byte, energy ...), the training-loss curves on one plot and, where a stage result's
``correct`` names a JSON file of ``{model: {task: {example: right}}}`` (the ``evaluate`` job's), each run
against the first on the examples both scored, by McNemar's exact test (:func:`olmo_core.stats.paired`).
The sweeps of single commands compare their jobs with the same table
(:func:`olmo_core.sweeps.write_sweep_comparison`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from olmo_core.io import write_text
from olmo_core.jobs import markdown_table, read_result
from olmo_core.stats import describe, paired

__all__ = ["comparison_table", "differing", "write_comparison"]


def _finished(job: Path) -> dict[str, dict[str, Any]] | None:
    if not (job / "pipeline.json").is_file():
        return None
    results = {}
    for stage in json.loads((job / "pipeline.json").read_text()):
        found = [r for d in sorted(job.glob(f"stages/*-{stage['stage']}")) if (r := read_result(str(d)))]
        if found:
            results[stage["stage"]] = found[-1].metrics
    return results


def _scalars(results: dict[str, dict[str, Any]]) -> dict[str, float]:
    return {f"{stage}.{key}": value for stage, result in results.items() for key, value in result.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)}


def _correct(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, bool]]:
    return {f"{stage}.{model}/{task}": right for stage, result in results.items()
            if isinstance(path := result.get("correct"), str) and Path(path).is_file()
            for model, tasks in json.loads(Path(path).read_text()).items() for task, right in tasks.items()}


def differing(rows: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The keys of ``rows``' values, in the order first seen, whose value is not the same in every row (a row
    without the key counts as one more value)."""
    keys = dict.fromkeys(key for values in rows.values() for key in values)

    def hashable(value: Any) -> Any:
        return value if isinstance(value, (str, int, float, type(None))) else repr(value)

    return [key for key in keys if len({hashable(values.get(key)) for values in rows.values()}) > 1]


def comparison_table(first: str, rows: Mapping[str, Mapping[str, Any]], keys: Sequence[str]) -> list[str]:
    """The lines of a markdown table with a line per row (named in column ``first``) and a column per key: floats
    to 4 significant digits, or as many more (up to 10) as tell a column's different values apart (11.3147 and
    11.3116, not 11.31 twice), a missing value as ``-``, a ``|`` in a cell escaped."""
    digits = {key: _telling_digits([v[key] for v in rows.values() if isinstance(v.get(key), float)]) for key in keys}

    def cell(value: Any, places: int = 4) -> str:
        return (f"{value:.{places}g}" if isinstance(value, float) else str(value)).replace("|", "\\|")

    return markdown_table([first, *map(cell, keys)], ([cell(name), *(cell(v.get(k, "-"), digits[k]) for k in keys)]
                                                       for name, v in rows.items()))


def _telling_digits(values: list[float]) -> int:
    """The fewest significant digits, from 4 to 10, at which the distinct ``values`` are shown distinct."""
    distinct = set(values)
    return next((d for d in range(4, 11) if len({f"{v:.{d}g}" for v in distinct}) == len(distinct)), 10)


def _paired_lines(jobs: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    (first, reference), *others = ((name, _correct(results)) for name, results in jobs.items())
    lines = [f"- {key}: {name} vs {first}: {describe(paired(reference[key], scored[key]))}"
             for name, scored in others for key in reference if key in scored]
    return ["", f"Each run against {first} on the same examples (McNemar's exact test; beyond noise at p < 0.05):",
            "", *lines] if lines else []


def loss_plot(path: Path, runs: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> Path | None:
    """The training loss curves of ``runs`` (run name -> stage -> metrics; each run's first stage whose metrics
    name its ``metrics.jsonl``) on one plot at ``path``; ``None`` when no run trained."""
    from olmo_core.plots import line_plot

    curves = {}
    for name, results in runs.items():
        for result in results.values():
            metrics = result.get("metrics")
            if isinstance(metrics, str) and Path(metrics).is_file():
                rows = [json.loads(line) for line in Path(metrics).read_text().splitlines() if line]
                curves[name] = ([r["step"] for r in rows], [r["loss"] for r in rows])
                break
    return line_plot(path, curves, title="training loss", xlabel="step", ylabel="loss") if curves else None


def write_comparison(sweep_dir: Path) -> Path | None:
    """Compare the finished runs under ``sweep_dir``; return the markdown file (``None`` with fewer than 2)."""
    jobs = {job.name: results for job in sorted(p for p in sweep_dir.iterdir() if p.is_dir())
            if (results := _finished(job)) is not None}
    if len(jobs) < 2:
        return None
    scalars = {name: _scalars(results) for name, results in jobs.items()}
    lines = [f"# Sweep: {sweep_dir.name}", "", f"{len(jobs)} runs; the results that differ between them:", "",
             *comparison_table("run", scalars, differing(scalars)), *_paired_lines(jobs)]
    if figure := loss_plot(sweep_dir / "comparison_loss.png", jobs):
        lines += ["", f"![training loss]({figure.name})"]
    report = sweep_dir / "comparison.md"
    write_text(str(report), "\n".join(lines) + "\n")
    return report
