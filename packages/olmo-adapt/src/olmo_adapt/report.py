"""The markdown section and figures an adaptation run contributes to a pipeline report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from olmo_core.plots import line_plot

from olmo_train.callbacks.metrics import read_metrics
from olmo_train.callbacks.plots import trainer_figures

__all__ = ["run_section"]

_PREFERENCE = ("rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies")


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def run_section(title: str, trainer: Any, relative_to: Path, *, description: str) -> tuple[str, dict[str, Any]]:
    """``(markdown, last metrics)`` of a finished training run: data kept and skipped, the loss and held-out
    metrics before and after, and plots (the trainer's, plus rewards for preference runs)."""
    run_dir = trainer.run_dir
    rows = read_metrics(run_dir / "metrics.jsonl")
    figures = list(trainer_figures(trainer))
    if rows and "rewards/margins" in rows[0]:
        steps = [r["step"] for r in rows]
        figures.append(line_plot(run_dir / "plots" / "rewards.png",
                                 {k: (steps, [r[k] for r in rows]) for k in _PREFERENCE}, title="DPO rewards",
                                 xlabel="step", ylabel="value"))
    data = json.loads((run_dir / "data.json").read_text())
    skipped = ", ".join(f"{n} {why}" for why, n in data["skipped"].items()) or "none"
    last = rows[-1] if rows else {}
    lines = [f"## {title}", "", description, "",
             f"Examples kept: {data['kept']}; skipped: {skipped}. {len(rows)} steps; training loss "
             f"{_fmt(rows[0]['loss'])} -> {_fmt(last['loss'])}." if rows else "No steps were run.", ""]
    before_file = run_dir / "eval_before.json"
    if before_file.is_file() and any(k.startswith("eval/") for k in last):
        before = json.loads(before_file.read_text())
        lines += ["| held-out metric | before | after |", "|---|---|---|"]
        lines += [f"| {k} | {_fmt(v)} | {_fmt(last.get(f'eval/{k}'))} |" for k, v in before.items()]
        lines.append("")
    lines += [f"![{f.stem}]({f.relative_to(relative_to)})" for f in figures]
    return "\n".join(lines), last
