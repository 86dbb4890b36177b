"""The training loop: micro-batched steps, OLMo's loss normalization, checkpoints and exact resume."""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from olmo_core.checkpoint import checkpoint_dirs, latest_checkpoint, load_checkpoint, load_model_state, step_dir
from olmo_core.config import to_dict
from olmo_core.errors import ConfigError, OlmoError
from olmo_core.model_io import model_config_document, save_model
from olmo_core.plugins import get_host

from olmo_train.accounting import H100_BF16_PEAK, EnergyMeter, flops_per_token
from olmo_train.config import TrainConfig
from olmo_train.data import DataLoaderConfig
from olmo_train.loss import labels_for, step_loss
from olmo_train.optim_state import load_optimizer_state, optimizer_state

__all__ = ["NonFiniteLoss", "Trainer"]


class NonFiniteLoss(OlmoError):
    """The loss became NaN or infinite."""


@dataclass
class StepMetrics:
    step: int
    loss: float
    z_loss: float | None
    lr: float
    grad_norm: float
    tokens: int
    seconds: float
    tokens_per_second: float = 0.0
    mfu: float | None = None
    energy_wh: float = 0.0
    co2_g: float = 0.0


class Trainer:
    """Trains a registered model on token arrays; resumes from the newest complete checkpoint of its run."""

    def __init__(self, config: TrainConfig) -> None:
        if config.on_nan not in ("stop", "skip"):
            raise ConfigError(f"on_nan must be 'stop' or 'skip', not {config.on_nan!r}")
        self.config = config
        self.run_dir = Path(config.runs_dir) / config.name
        self.checkpoints = self.run_dir / "checkpoints"
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        host = get_host()
        self.model = host.registry("models").build(config.model)
        self.optimizer = host.registry("optimizers").build(config.optim, model=self.model)
        self.schedule = host.registry("schedulers").build(config.scheduler)
        loader_config = DataLoaderConfig(paths=list(config.data), seq_len=config.seq_len,
                                         global_batch_size=config.global_batch_size, seed=config.seed,
                                         doc_masking=config.doc_masking)
        self.loader = loader_config.build(self.run_dir / "data")
        instances = config.global_batch_size // config.seq_len
        if instances % config.micro_batch_size:
            raise ConfigError(f"micro_batch_size={config.micro_batch_size} must divide the {instances} instances "
                              f"of a global batch")
        self.step = 0
        self.tokens_seen = 0
        self.flops_per_token = flops_per_token(self.model, config.seq_len)
        peak = config.peak_tflops * 1e12 if config.peak_tflops else (H100_BF16_PEAK if torch.cuda.is_available()
                                                                     else None)
        self.peak_flops = peak
        self.energy = EnergyMeter.create(config.watts)
        self._resume()

    def _resume(self) -> None:
        latest = latest_checkpoint(self.checkpoints)
        if latest is None:
            return
        checkpoint = load_checkpoint(latest)
        load_model_state(self.model, checkpoint.tensors["model"], where=f"checkpoint {latest}")
        load_optimizer_state(self.optimizer, self.model, checkpoint.tensors["optim"],
                             checkpoint.documents["optim_groups"])
        trainer = checkpoint.documents["trainer"]
        self.step, self.tokens_seen = trainer["step"], trainer["tokens_seen"]
        self.loader.load_state_dict(trainer["data_loader"])
        torch.set_rng_state(checkpoint.tensors["rng"]["torch"])
        print(f"resuming from {latest} (step {self.step})", flush=True)

    def save(self) -> Path:
        """Write the checkpoint of the current step and drop the old ones beyond ``keep_last``."""
        tensors, groups = optimizer_state(self.optimizer, self.model)
        trainer = {"step": self.step, "tokens_seen": self.tokens_seen, "data_loader": self.loader.state_dict(),
                   "config": to_dict(self.config)}
        path = save_model(step_dir(self.checkpoints, self.step), self.model, self.config.model, trainer=trainer,
                          extra_tensors={"optim": tensors, "rng": {"torch": torch.get_rng_state()}},
                          extra_documents={"optim_groups": groups})
        kept = [p for p in checkpoint_dirs(self.checkpoints) if not self._permanent(p)]
        for old in kept[: -self.config.keep_last] if self.config.keep_last else kept:
            shutil.rmtree(old)
        return path

    def _permanent(self, path: Path) -> bool:
        interval = self.config.permanent_interval
        return bool(interval) and int(path.name.removeprefix("step")) % interval == 0  # type: ignore[operator]

    def train_step(self, batch: dict[str, torch.Tensor]) -> StepMetrics:
        """One optimizer step over a global batch, accumulated over micro-batches."""
        config = self.config
        start = time.perf_counter()
        lr = self.schedule.set_lr(self.optimizer, self.step, config.max_steps)
        input_ids = batch["input_ids"]
        labels = labels_for(input_ids)
        if "label_mask" in batch:  # False where a token is not to be predicted (padding, prompts)
            labels = labels.masked_fill(~labels_for(batch["label_mask"].long()).bool() | (labels == -100), -100)
        step_tokens = int((labels != -100).sum())
        ce_total = torch.zeros(())
        z_total = torch.zeros(()) if config.z_loss else None
        self.optimizer.zero_grad(set_to_none=True)
        for start_row in range(0, input_ids.shape[0], config.micro_batch_size):
            rows = slice(start_row, start_row + config.micro_batch_size)
            doc_lens = batch["doc_lens"][rows] if config.doc_masking else None
            logits = self.model(input_ids[rows], doc_lens=doc_lens) if doc_lens is not None \
                else self.model(input_ids[rows])
            loss, ce_sum, z_sum = step_loss(logits, labels[rows], step_tokens=step_tokens, z_loss=config.z_loss)
            loss.backward()
            ce_total += ce_sum
            if z_total is not None and z_sum is not None:
                z_total += z_sum
        mean_loss = float(ce_total) / step_tokens
        if not math.isfinite(mean_loss):
            if config.on_nan == "stop":
                raise NonFiniteLoss(f"the loss is {mean_loss} at step {self.step + 1} (learning rate {lr:.3g}): "
                                    f"lower the learning rate, enable z_loss or grad_clip, or resume with "
                                    f"on_nan=skip; the last good checkpoint is in {self.checkpoints}")
            self.optimizer.zero_grad(set_to_none=True)
            grad_norm = float("nan")
        else:
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), config.grad_clip or float("inf"))
            grad_norm = float(norm)
            self.optimizer.step()
        self.step += 1
        self.tokens_seen += input_ids.numel()
        seconds = time.perf_counter() - start
        speed = input_ids.numel() / seconds
        mfu = speed * self.flops_per_token / self.peak_flops if self.flops_per_token and self.peak_flops else None
        joules = self.energy.joules(seconds)
        return StepMetrics(step=self.step, loss=mean_loss,
                           z_loss=None if z_total is None else float(z_total) / step_tokens, lr=lr,
                           grad_norm=grad_norm, tokens=input_ids.numel(), seconds=seconds, tokens_per_second=speed,
                           mfu=mfu, energy_wh=joules / 3600.0,
                           co2_g=joules / 3.6e6 * self.config.carbon_intensity * 1000.0)

    def fit(self) -> list[StepMetrics]:
        """Train until ``max_steps``, checkpointing every ``save_interval`` steps and at the end."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "config.json").write_text(json.dumps(to_dict(self.config), indent=2, default=str) + "\n")
        (self.run_dir / "model_config.json").write_text(json.dumps(model_config_document(self.config.model)) + "\n")
        history = []
        metrics_file = self.run_dir / "metrics.jsonl"
        _truncate(metrics_file, self.step)
        self.model.train()
        batches = iter(self.loader)
        fresh = True
        while self.step < self.config.max_steps:
            batch = next(batches, None)
            if batch is None:
                if fresh:
                    raise ConfigError(f"the data hold fewer instances than one global batch of "
                                      f"{self.config.global_batch_size} tokens: add data or lower global_batch_size")
                batches, fresh = iter(self.loader), True
                continue
            fresh = False
            metrics = self.train_step(batch)
            history.append(metrics)
            with open(metrics_file, "a") as f:
                f.write(json.dumps(metrics.__dict__) + "\n")
            if self.step % self.config.save_interval == 0 or self.step == self.config.max_steps:
                self.save()
            mfu = f" MFU {metrics.mfu:.1%}" if metrics.mfu is not None else ""
            print(f"step {metrics.step}/{self.config.max_steps} loss {metrics.loss:.4f} lr {metrics.lr:.3g} "
                  f"grad {metrics.grad_norm:.3f} {metrics.tokens_per_second:,.0f} tok/s{mfu}", flush=True)
        return history


def _truncate(metrics_file: Path, step: int) -> None:
    """Drop metrics past ``step`` (written after the checkpoint a resumed run continues from)."""
    if not metrics_file.exists():
        return
    lines = [line for line in metrics_file.read_text().splitlines() if line and json.loads(line)["step"] <= step]
    metrics_file.write_text("".join(line + "\n" for line in lines))
