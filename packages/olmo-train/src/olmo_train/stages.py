"""olmo-train's pipeline stage: ``pretrain`` on the token arrays of the ``tokenize`` stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from olmo_core.config import apply_overrides
from olmo_core.pipeline.stage import StageContext
from olmo_core.plugins import get_host

__all__ = ["PretrainStage", "PretrainStageConfig"]


@dataclass(kw_only=True)
class PretrainStageConfig:
    """Options of the pretrain stage (a small model that trains in minutes on 2 CPU cores by default)."""

    model: str = "olmo-tiny"
    """Model preset (or registered architecture)."""
    lr: float = 1e-2
    """Peak learning rate of AdamW."""
    scheduler: str = "cosine_with_warmup"
    """Learning-rate schedule."""
    warmup_steps: int = 10
    """Warmup steps of the schedule."""
    seq_len: int = 256
    """Tokens per instance."""
    global_batch_size: int = 4096
    """Tokens per optimizer step."""
    micro_batch_size: int = 8
    """Instances per forward/backward pass."""
    max_steps: int = 100
    """Optimizer steps."""
    save_interval: int = 25
    """Steps between checkpoints (a killed stage resumes from the newest)."""


class PretrainStage:
    """Pretrain a model on the run's token arrays: ``<stage>/train/`` holds checkpoints, metrics and plots."""

    reads_options = ("train",)

    def __init__(self, config: PretrainStageConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        from olmo_train.callbacks import DEFAULT_CALLBACKS
        from olmo_train.callbacks.metrics import read_metrics
        from olmo_train.callbacks.plots import trainer_figures
        from olmo_train.config import TrainConfig
        from olmo_train.trainer import Trainer

        c = self.config
        host = get_host()
        _, model = host.registry("models").resolve(c.model)
        _, optim = host.registry("optimizers").resolve("adamw")
        optim.lr = c.lr
        _, scheduler = host.registry("schedulers").resolve(c.scheduler)
        scheduler.warmup_steps = c.warmup_steps
        callbacks = {name: host.registry("callbacks").resolve(name)[1] for name in DEFAULT_CALLBACKS}
        callbacks["checkpoint"].interval = c.save_interval
        _, backend = host.registry("train_backends").resolve("single")
        options = dict(context.options.get("train") or {})
        data = options.pop("data", None) or [str(context.result("tokenize", "tokens_dir"))]
        config = TrainConfig(name="train", runs_dir=str(context.stage_dir), model=model, optim=optim,
                             scheduler=scheduler, backend=backend, callbacks=callbacks, data=list(data),
                             seq_len=c.seq_len, global_batch_size=c.global_batch_size,
                             micro_batch_size=c.micro_batch_size, max_steps=c.max_steps, seed=context.seed)
        config = apply_overrides(config, options, prefix="train")
        trainer = Trainer(config)
        trainer.fit()
        rel = [f.relative_to(context.run_dir) for f in trainer_figures(trainer)]
        rows = read_metrics(trainer.run_dir / "metrics.jsonl")
        tail = [r["loss"] for r in rows[-10:]]
        first, last = (rows[0]["loss"], sum(tail) / len(tail)) if rows else (None, None)
        entropy = context.results.get("tokenize", {}).get("unigram_entropy_nats")
        baseline = f" (unigram entropy of the data: {entropy:.3f} nats)" if entropy else ""
        energy = sum(r.get("energy_wh", 0.0) for r in rows)
        co2 = sum(r.get("co2_g", 0.0) for r in rows)
        seconds = sum(r["seconds"] for r in rows)
        speed = sum(r["tokens"] for r in rows) / seconds if seconds else 0.0
        measured = "measured through NVML" if rows and rows[-1].get("energy_measured") else \
            f"estimated at {config.callbacks['energy'].watts:g} W" if "energy" in config.callbacks else "not measured"
        intensity = config.callbacks["energy"].carbon_intensity if "energy" in config.callbacks else None
        section = "\n".join([
            "## Pretraining", "",
            f"{_name(config.model)} ({_params(trainer.plain_model)} parameters), {trainer.step} steps of "
            f"{config.global_batch_size:,} tokens ({trainer.tokens_seen:,} tokens): loss {first:.3f} -> {last:.3f} "
            f"(mean of the last {len(tail)} steps)"
            f"{baseline}." if rows else f"{_name(config.model)}: no steps recorded.", "",
            "| training time | tokens/s | energy | CO2 |", "|---|---|---|---|",
            f"| {seconds:,.0f} s | {speed:,.0f} | {energy:.2f} Wh ({measured}) | {co2:.2f} g"
            f"{f' at {intensity:g} kg/kWh' if intensity is not None else ''} |", "",
            *(f"![{f.stem}]({f})" for f in rel)])
        result_extra = {"energy_wh": round(energy, 4), "co2_g": round(co2, 4), "tokens_per_second": round(speed, 1),
                        "metrics": str(trainer.run_dir / "metrics.jsonl")}
        checkpoint = trainer.checkpoints / f"step{trainer.step:06d}"
        return {"checkpoint": str(checkpoint), "steps": trainer.step, "tokens": trainer.tokens_seen,
                "final_loss": last, **result_extra, "report": section}


def _params(model: Any) -> str:
    count = sum(p.numel() for p in model.parameters())
    return f"{count / 1e6:.1f}M" if count < 1e9 else f"{count / 1e9:.2f}B"


def _name(config: Any) -> str:
    from olmo_core.config import NAME_KEY

    return str(getattr(config, NAME_KEY, None) or type(config).__name__)
