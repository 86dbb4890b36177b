"""``olmo train``: pretrain a model on token arrays, on one device."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from olmo_core.plots import line_plot

from olmo_train.config import TrainConfig

__all__ = ["train_command"]


def plot_metrics(run_dir: Path) -> list[Path]:
    """Loss, learning rate and throughput over steps, from ``metrics.jsonl``, into ``<run>/plots/``."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line]
    steps = [r["step"] for r in rows]
    plots = run_dir / "plots"
    return [
        line_plot(plots / "loss.png", {"training loss": (steps, [r["loss"] for r in rows])}, title="training loss",
                  xlabel="step", ylabel="cross-entropy (nats)"),
        line_plot(plots / "lr.png", {"learning rate": (steps, [r["lr"] for r in rows])}, title="learning rate",
                  xlabel="step", ylabel="learning rate"),
        line_plot(plots / "throughput.png", {"tokens/s": (steps, [r["tokens"] / r["seconds"] for r in rows])},
                  title="throughput", xlabel="step", ylabel="tokens per second"),
    ]


def train_command(config: TrainConfig) -> dict[str, Any]:
    """Pretrain a registered model on token arrays: micro-batched steps with OLMo's loss normalization,
    gradient clipping, the configured schedule, checkpoints every ``save_interval`` steps, and exact resume
    from the newest complete checkpoint when run again. Writes ``metrics.jsonl`` and plots of loss, learning
    rate and throughput into ``runs/<name>/``.
    """
    from olmo_train.trainer import Trainer

    trainer = Trainer(config)
    history = trainer.fit()
    figures = plot_metrics(trainer.run_dir)
    last = history[-1] if history else None
    summary = {"run": str(trainer.run_dir), "steps": trainer.step, "tokens": trainer.tokens_seen,
               "final_loss": last.loss if last else None, "figures": [str(f) for f in figures]}
    print(f"trained {trainer.step} steps ({trainer.tokens_seen:,} tokens); final loss "
          f"{summary['final_loss']}; see {trainer.run_dir}")
    return summary
