"""``olmo train``: pretrain a model on token arrays."""

from __future__ import annotations

from typing import Any

from olmo_core.errors import ConfigError
from olmo_train.callbacks.plots import plot_metrics
from olmo_train.config import TrainConfig

__all__ = ["plot_metrics", "train_command"]


def train_command(config: TrainConfig) -> dict[str, Any]:
    """Pretrain a registered model on token arrays: micro-batched steps with OLMo's loss normalization,
    gradient clipping and the configured schedule, on the configured backend. Callbacks write checkpoints
    (resumed exactly when the command runs again), ``metrics.jsonl``, TensorBoard scalars, progress and
    plots of loss, learning rate and throughput into ``runs/<name>/``. ``launcher.nproc=N`` trains in N
    workers started here; under torchrun or Slurm each process is one rank.
    """
    from olmo_train.launch import is_worker, launch, record_worker_error

    if config.launcher.nproc > 1 and not is_worker():
        from hydra.core.hydra_config import HydraConfig

        if not HydraConfig.initialized():
            raise ConfigError("launcher.nproc needs the olmo command line (olmo train launcher.nproc=N ...)")
        launch(config.launcher, list(HydraConfig.get().overrides.task))
        return {"run": f"{config.runs_dir}/{config.name}", "workers": config.launcher.nproc}
    try:
        return _train(config)
    except BaseException as exc:
        if is_worker():
            record_worker_error(exc)
        raise


def _train(config: TrainConfig) -> dict[str, Any]:
    from olmo_train.trainer import Trainer

    trainer = Trainer(config)
    history = trainer.fit()
    last = history[-1] if history else None
    summary = {"run": str(trainer.run_dir), "steps": trainer.step, "tokens": trainer.tokens_seen,
               "final_loss": last["loss"] if last else None}
    if trainer.is_main:
        loss = f"{summary['final_loss']:.4f}" if last else "unchanged (already at max_steps)"
        print(f"trained {trainer.step} steps ({trainer.tokens_seen:,} tokens); final loss {loss}; "
              f"see {trainer.run_dir}")
    return summary
