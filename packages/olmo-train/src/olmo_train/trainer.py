"""The training loop: micro-batched steps, OLMo's loss normalization, callbacks, checkpoints, exact resume.

The trainer is model- and objective-agnostic: the model comes from the model registry, the backend places it
(one device, DDP, FSDP), the objective (:mod:`olmo_train.objective`) says what a batch's loss is, and
callbacks (:mod:`olmo_core.callbacks`) do everything around the step: checkpoints, metrics, progress,
speed, energy, loss checks and in-loop evaluation.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import torch

from olmo_core.callbacks import Callback, SkipStep
from olmo_core.checkpoint import latest_checkpoint, load_model_state
from olmo_core.config import to_dict
from olmo_core.errors import ConfigError
from olmo_core.model_io import load_model, model_config_document
from olmo_core.plugins import get_host
from olmo_core.tokenizer import Tokenizer

from olmo_train.callbacks.loss_guard import NonFiniteLoss
from olmo_train.checkpointing import restore_checkpoint, save_training_checkpoint
from olmo_train.config import TrainConfig
from olmo_train.data import DataLoaderConfig
from olmo_train.objective import LanguageModelObjective, Objective

__all__ = ["NonFiniteLoss", "Trainer"]


class Trainer:
    """Trains a registered model; resumes from the newest complete checkpoint of its run directory.

    :param config: the run's options.
    :param objective: what to minimize (default: next-token cross-entropy with ``config.z_loss``).
    :param loader: where batches come from: an iterable of batch dicts with ``state_dict()`` and
        ``load_state_dict()`` (default: the token-array loader over ``config.data``).
    :param tokenizer: the tokenizer of the data (default: the one recorded with the token arrays).
    :param callbacks: callbacks to run besides the configured ones.
    """

    def __init__(self, config: TrainConfig, *, objective: Objective | None = None, loader: Any = None,
                 tokenizer: Tokenizer | None = None, callbacks: Iterable[Callback] = ()) -> None:
        self.config = config
        self.run_dir = Path(config.runs_dir) / config.name
        self.checkpoints = self.run_dir / "checkpoints"
        self.max_steps = config.max_steps
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        host = get_host()
        self.backend = host.registry("train_backends").build(config.backend)
        self.rank, self.world_size = self.backend.rank, self.backend.world_size
        self.plain_model = host.registry("models").build(config.model)
        if config.init_from:
            loaded = load_model(config.init_from)
            load_model_state(self.plain_model, loaded.model.state_dict(), where=f"init_from={config.init_from}")
            tokenizer = tokenizer or loaded.tokenizer
        self.model = self.backend.prepare(self.plain_model)
        self.optimizer = host.registry("optimizers").build(config.optim, model=self.plain_model)
        self.schedule = host.registry("schedulers").build(config.scheduler)
        self.objective: Objective = objective or LanguageModelObjective(z_loss=config.z_loss,
                                                                         doc_masking=config.doc_masking)
        self.loader = loader if loader is not None else self._token_loader()
        self._tokenizer = tokenizer
        self._no_tokenizer = False
        registry = host.registry("callbacks")
        named = [(name, registry.build(spec)) for name, spec in (config.callbacks or {}).items()]
        named += [(type(cb).__name__, cb) for cb in callbacks]
        self.callbacks = dict(sorted(named, key=lambda item: item[1].order))  # sorted() is stable
        self.step = 0
        self.tokens_seen = 0
        self._resume()

    def _token_loader(self) -> Any:
        config = self.config
        instances = config.global_batch_size // config.seq_len
        if config.global_batch_size % config.seq_len or instances % self.world_size:
            raise ConfigError(f"global_batch_size={config.global_batch_size} must be a whole number of instances "
                              f"of seq_len={config.seq_len}, divisible by the world size {self.world_size}")
        if (instances // self.world_size) % config.micro_batch_size:
            raise ConfigError(f"micro_batch_size={config.micro_batch_size} must divide the "
                              f"{instances // self.world_size} instances each rank gets of a global batch")
        loader_config = DataLoaderConfig(paths=list(config.data), seq_len=config.seq_len,
                                         global_batch_size=config.global_batch_size, seed=config.seed,
                                         doc_masking=config.doc_masking)
        return loader_config.build(self.run_dir / "data", rank=self.rank, world_size=self.world_size)

    # -- what callbacks see ------------------------------------------------------------------------------

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def device(self) -> torch.device:
        return self.backend.device  # type: ignore[no-any-return]

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            self._tokenizer = _data_tokenizer(self.loader)
        return self._tokenizer

    # -- checkpoints -------------------------------------------------------------------------------------

    def _checkpoint_tokenizer(self) -> Tokenizer | None:
        """The tokenizer saved with checkpoints; ``None`` (asked once) when the data recorded none."""
        if self._tokenizer is None and not self._no_tokenizer:
            try:
                self._tokenizer = _data_tokenizer(self.loader)
            except (OSError, KeyError, ValueError, AttributeError, StopIteration):
                self._no_tokenizer = True
        return self._tokenizer

    def _resume(self) -> None:
        latest = latest_checkpoint(self.checkpoints)
        if latest is None:
            return
        trainer = restore_checkpoint(self, latest)
        self.step, self.tokens_seen = trainer["step"], trainer["tokens_seen"]
        self.loader.load_state_dict(trainer["data_loader"])
        for name, state in trainer.get("callbacks", {}).items():
            if name in self.callbacks:
                self.callbacks[name].load_state_dict(state)
        if self.is_main:
            print(f"resuming from {latest} (step {self.step})", flush=True)

    def save_checkpoint(self) -> Path:
        """Write the checkpoint of the current step (model, optimizer, data order, RNG, callbacks' state).

        Every rank calls it: whole checkpoints are written by rank 0, sharded ones (``backend=fsdp``) by all.
        """
        trainer = {"step": self.step, "tokens_seen": self.tokens_seen, "data_loader": self.loader.state_dict(),
                   "callbacks": {name: cb.state_dict() for name, cb in self.callbacks.items()},
                   "config": to_dict(self.config), "world_size": self.world_size}
        path = save_training_checkpoint(self, trainer, self._checkpoint_tokenizer())
        for callback in self.callbacks.values():
            callback.on_checkpoint(self, path)
        return path

    # -- the step ----------------------------------------------------------------------------------------

    def train_step(self, batch: dict[str, Any]) -> dict[str, Any]:
        """One optimizer step over this rank's share of a global batch, accumulated over micro-batches.

        Returns the step's metrics (``step``, ``loss`` and the objective's other metrics, ``lr``,
        ``grad_norm``, ``tokens`` over all ranks, ``seconds``), before callbacks add theirs.
        """
        config = self.config
        start = time.perf_counter()
        step = self.step + 1
        lr = self.schedule.set_lr(self.optimizer, self.step, config.max_steps)
        batch = {k: v.to(self.device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
        normalizer = self.backend.all_reduce(self.objective.normalizer(batch).to(self.device, torch.float32))
        if float(normalizer) == 0:
            raise ConfigError(f"step {step} has nothing to learn from: every target of its batch is masked")
        sums: dict[str, torch.Tensor] = {}
        self.optimizer.zero_grad(set_to_none=True)
        micros = list(self.objective.micro_batches(batch, config.micro_batch_size))
        for index, micro in enumerate(micros):
            with self.backend.micro_step(self.model, last=index == len(micros) - 1):
                with self.backend.autocast():
                    loss, micro_sums = self.objective.loss(self.model, micro, normalizer)
                loss.backward()
            for key, value in micro_sums.items():
                sums[key] = sums.get(key, 0) + value.detach().float()
        keys = sorted(sums)
        totals = self.backend.all_reduce(torch.stack([sums[k] for k in keys])) if keys else torch.zeros(0)
        metrics: dict[str, Any] = {"step": step, **self.objective.metrics(
            dict(zip(keys, totals.tolist(), strict=True)), float(normalizer)), "lr": lr}
        try:
            for callback in self.callbacks.values():
                callback.check_loss(self, metrics)
            max_norm = config.grad_clip if config.grad_clip is not None else math.inf
            grad_norm = float(self.backend.clip_grad_norm(self.model, max_norm))
            self.optimizer.step()
        except SkipStep:
            self.optimizer.zero_grad(set_to_none=True)
            grad_norm = math.nan
        tokens = self.objective.tokens(batch) * self.world_size
        self.step = step
        self.tokens_seen += tokens
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        metrics.update(grad_norm=grad_norm, tokens=tokens, seconds=time.perf_counter() - start,
                       seq_len=int(batch["input_ids"].shape[-1]) if "input_ids" in batch else None)
        return metrics

    def fit(self) -> list[dict[str, Any]]:
        """Train until ``max_steps``; return the metrics of the steps run (each as the callbacks left it)."""
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.json").write_text(json.dumps(to_dict(self.config), indent=2, default=str) + "\n")
            (self.run_dir / "model_config.json").write_text(
                json.dumps(model_config_document(self.config.model)) + "\n")
        for callback in self.callbacks.values():
            callback.on_fit_start(self)
        history = []
        self.model.train()
        batches = self._batches()
        while self.step < self.max_steps:
            metrics = self.train_step(next(batches))
            for callback in self.callbacks.values():
                callback.on_step_end(self, metrics)
            history.append(metrics)
        for callback in self.callbacks.values():
            callback.on_fit_end(self)
        return history

    def _batches(self) -> Iterator[dict[str, Any]]:
        while True:
            fresh = True
            for batch in self.loader:
                fresh = False
                yield batch
            if fresh:
                raise ConfigError("the data hold fewer examples than one global batch: add data or lower "
                                  "global_batch_size")


def _data_tokenizer(loader: Any) -> Tokenizer:
    """The tokenizer recorded in the token arrays a loader reads."""
    from olmo_core.tokenizer import load_tokenizer

    parts = loader.dataset.parts
    identity = next(p.meta["tokenizer"] for p in parts if p.meta.get("tokenizer"))
    tokenizer = load_tokenizer(identity["name"])
    if tokenizer.sha256 != identity.get("sha256", tokenizer.sha256):
        raise ConfigError(f"the tokenizer {identity['name']!r} here differs from the one the data were made with")
    return tokenizer
