"""The ``pretrain`` job, ``olmo train`` on the command line: pretrain a model on token arrays."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, ClassVar

from olmo_core.artifacts import Checkpoint, TokenArrays, require_checkpoint
from olmo_core.checkpoint import step_dir
from olmo_core.config import NAME_KEY
from olmo_core.errors import ConfigError
from olmo_core.jobs import Job, JobResult, Report, Slot, read_result

from olmo_train.config import TrainConfig

__all__ = ["TrainJob"]

log = logging.getLogger(__name__)

TAIL = 10
"""The report's final loss is the mean of this many last steps (one step's loss is noisy)."""

NOT_RECORDED = ("metrics were not recorded: the metrics callback is off (callbacks=[...] keeps only the callbacks "
                "it lists; +callbacks=[...] adds to the defaults)")
"""What the report and the log say of a run whose ``callbacks`` leave out ``metrics``."""


class TrainJob(Job):
    """Pretrain a registered model on token arrays: micro-batched steps with OLMo's loss normalization,
    gradient clipping and the configured schedule, on the configured backend. Callbacks write checkpoints
    (resumed exactly when the command runs again), ``metrics.jsonl``, TensorBoard scalars, progress and plots
    of loss, learning rate and throughput into the output directory. ``launcher.nproc=N`` trains in N workers
    started here; under torchrun or Slurm each process is one rank.
    """

    command = "train"
    inputs: ClassVar[dict[str, Slot]] = {
        "data": Slot(TokenArrays, many=True, help="token-array directories (`olmo data tokenize` output, or "
                                                  "Dolma/OLMo .npy directories)")}
    outputs: ClassVar[dict[str, Slot]] = {"checkpoint": Slot(Checkpoint)}

    def default_workdir(self, config: TrainConfig, inputs: dict[str, Any]) -> str:
        return "runs/train"

    def check(self, config: TrainConfig, inputs: dict[str, Any], workdir: str) -> None:
        from olmo_train.backends.base import check_device
        from olmo_train.backends.configs import check_replicas
        from olmo_train.trainer import check_batch_shape, check_data_vocabulary, check_resume

        check_device(getattr(config.backend, "device", "auto"))
        data = inputs.get("data")
        if data is not None and not data:
            raise ConfigError("data=[] names no token arrays: give data=[<token arrays dir>, ...]")
        if config.init_from:
            require_checkpoint(config.init_from, key="init_from")
        check_data_vocabulary([artifact.path for artifact in inputs.get("data") or []],
                              getattr(config.model, "vocab_size", None))
        check_resume(workdir, config)  # before the run's record is replaced: a refused rerun keeps it
        world_size = int(os.environ.get("WORLD_SIZE") or config.launcher.nproc)
        check_batch_shape(config, world_size)
        if getattr(config.backend, "replicas", None) is not None:  # before workers start: once, not once per rank
            check_replicas(config.backend.replicas, world_size)

    def run(self, config: TrainConfig, inputs: dict[str, Any], workdir: str) -> JobResult:
        from olmo_train.launch import is_worker, launch, record_worker_error

        data = [artifact.path for artifact in inputs["data"]]
        if config.launcher.nproc > 1 and not is_worker():
            from hydra.core.hydra_config import HydraConfig

            if not HydraConfig.initialized():
                raise ConfigError("launcher.nproc needs the olmo command line (olmo train launcher.nproc=N ...)")
            launch(config.launcher, list(HydraConfig.get().overrides.task))
            finished = read_result(workdir)  # what rank 0 of the workers recorded
            if finished is None:
                raise ConfigError(f"the {config.launcher.nproc} training workers left no result in {workdir}")
            return JobResult(outputs=finished.outputs, metrics={**finished.metrics, "workers": config.launcher.nproc})
        try:
            entropies = {_unigram_entropy(artifact) for artifact in inputs["data"]}
            return _train(config, data, workdir, entropy=entropies.pop() if len(entropies) == 1 else None)
        except BaseException as exc:
            if is_worker():
                if isinstance(exc, KeyboardInterrupt):  # the launcher that was interrupted says so, once
                    raise SystemExit(130) from None
                record_worker_error(exc)
            raise

    def report(self, result: JobResult) -> Report:
        from olmo_train.callbacks.metrics import read_metrics

        m = result.metrics
        run_dir = Path(m["run"])
        if "metrics" in m and m["metrics"] is None:
            loss = (f"{_steps(m['steps'])}, loss {m['final_loss']:.3f} at the last step; "
                    if m.get("final_loss") is not None and m.get("steps") else "")
            return Report(markdown=f"## Pretraining\n\n{m['model']}: {loss}{NOT_RECORDED}.")
        rows = read_metrics(m.get("metrics") or run_dir / "metrics.jsonl")
        figures = sorted(str(f) for f in (run_dir / "plots").glob("*.png"))
        if not rows:
            return Report(markdown=f"## Pretraining\n\n{m['model']}: no steps recorded.")
        processes = m.get("processes") or m.get("workers") or 1
        per = f" per process, {processes} processes" if processes > 1 else ""
        measured = (f"measured through NVML{' x ' + str(processes) + ' processes' if processes > 1 else ''}"
                    if m["energy_measured"] else f"estimated at {m['watts']:g} W{per}"
                    if m["watts"] is not None else "not measured")
        intensity = f" at {m['carbon_intensity']:g} kg/kWh" if m["carbon_intensity"] is not None else ""
        tail = min(TAIL, len(rows))
        mean = f" ({m['mean_loss_last_10']:.3f}, the mean of the last {tail} steps)" if tail > 1 else ""
        lines = ["## Pretraining", "",
                 f"{m['model']} ({m['parameters']} parameters), {_steps(m['steps'])} of {m['global_batch_size']:,} "
                 f"tokens ({m['tokens']:,} tokens): loss {m['first_loss']:.3f} -> {m['final_loss']:.3f} at the last "
                 f"step{mean}"
                 + (f" (unigram entropy of the data: {m['unigram_entropy_nats']:.3f} nats)."
                    if m.get("unigram_entropy_nats") else "."), "",
                 "| training time | tokens/s | energy | CO2 |", "|---|---|---|---|",
                 f"| {m['seconds_training']:,.0f} s | {m['tokens_per_second']:,.0f} | "
                 + (f"{m['energy_wh']:.2f} Wh ({measured})" if m.get("energy_wh") is not None
                    else "not recorded (the energy callback is off)")
                 + (f" | {m['co2_g']:.2f} g{intensity} |" if m.get("co2_g") is not None else " | not recorded |"), "",
                 *(f"![{Path(f).stem}]({f})" for f in figures)]
        return Report(markdown="\n".join(lines), figures=figures)


def _steps(count: int) -> str:
    """``1 step``, ``2 steps``, ``1,000 steps``."""
    return f"{count:,} step" + ("" if count == 1 else "s")


def _parameters(model: Any) -> str:
    count = sum(p.numel() for p in model.parameters())
    return f"{count / 1e6:.1f}M" if count < 1e9 else f"{count / 1e9:.2f}B"


def _metrics_file(config: TrainConfig, run_dir: Path) -> Path | None:
    """The file the ``metrics`` callback writes in ``run_dir``; None when ``callbacks`` leave it out."""
    options = config.callbacks.get("metrics")
    return None if options is None else run_dir / getattr(options, "file", "metrics.jsonl")


def _unigram_entropy(artifact: TokenArrays) -> float | None:
    """The token arrays' unigram entropy: the artifact's (the pipeline passes it), else the one ``olmo data
    tokenize`` recorded in the folder's ``result.json`` (a path given on the command line carries none); ``None``
    when neither is known."""
    if artifact.unigram_entropy_nats is not None:
        return artifact.unigram_entropy_nats
    try:
        recorded = read_result(artifact.path)
    except (OSError, ValueError, TypeError, KeyError):  # no readable record: not known
        return None
    if recorded is None or recorded.job != "data tokenize":
        return None
    value = recorded.metrics.get("unigram_entropy_nats")
    return float(value) if isinstance(value, (int, float)) else None


def _total(rows: list[dict[str, Any]], key: str) -> float | None:
    """The sum of ``key`` over the recorded steps (rounded to 4 decimals); ``None`` when no step recorded it (its
    callback, or the metrics callback, was off): unknown, not zero."""
    values = [r[key] for r in rows if r.get(key) is not None]
    return round(sum(values), 4) if values else None


def _train(config: TrainConfig, data: list[str], workdir: str, *, entropy: float | None) -> JobResult:
    from olmo_train.callbacks.metrics import read_metrics
    from olmo_train.trainer import Trainer

    trainer = Trainer(config, data=data, run_dir=Path(workdir))
    history = trainer.fit(checkpoint_at_end=True)
    metrics_file = _metrics_file(config, trainer.run_dir)
    rows = read_metrics(metrics_file) if metrics_file is not None else []
    tail = [r["loss"] for r in rows[-TAIL:]]
    seconds = sum(r["seconds"] for r in rows)
    energy = config.callbacks.get("energy")
    metrics = {
        "run": str(trainer.run_dir), "steps": trainer.step, "tokens": trainer.tokens_seen,
        "final_loss": history[-1]["loss"] if history else (rows[-1]["loss"] if rows else None),
        "mean_loss_last_10": sum(tail) / len(tail) if tail else None,
        "first_loss": rows[0]["loss"] if rows else None,
        "energy_wh": _total(rows, "energy_wh"), "co2_g": _total(rows, "co2_g"),  # None: not recorded
        "tokens_per_second": (round(sum(r["tokens"] for r in rows) / seconds, 1) if seconds else 0.0)
        if metrics_file is not None else None,
        "seconds_training": seconds if metrics_file is not None else None,
        "energy_measured": bool(rows and rows[-1].get("energy_measured")),
        "watts": getattr(energy, "watts", None), "carbon_intensity": getattr(energy, "carbon_intensity", None),
        "model": str(getattr(config.model, NAME_KEY, None) or type(config.model).__name__),
        "parameters": _parameters(trainer.plain_model), "global_batch_size": config.global_batch_size,
        "processes": trainer.world_size,
        "metrics": str(metrics_file) if metrics_file is not None else None, "unigram_entropy_nats": entropy,
        # what the mean above averaged, as the pipeline report names it: a short run has fewer than 10 steps
        "labels": {"mean_loss_last_10": f"mean loss, last {_steps(len(tail))}"} if tail else {},
    }
    if trainer.is_main:
        loss = f"{metrics['final_loss']:.4f}" if history else "unchanged (already at max_steps)"
        log.info(f"trained {_steps(trainer.step)} ({trainer.tokens_seen:,} tokens); final loss {loss}; "
                 f"see {trainer.run_dir}" + (f" ({NOT_RECORDED})" if metrics_file is None else ""))
    checkpoint = Checkpoint(path=str(step_dir(trainer.checkpoints, trainer.step)), step=trainer.step)
    return JobResult(outputs={"checkpoint": checkpoint}, metrics=metrics)
