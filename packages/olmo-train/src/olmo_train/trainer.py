"""The training loop: micro-batched steps, OLMo's loss normalization, callbacks, checkpoints, exact resume.

The trainer is model- and objective-agnostic: the model comes from the model registry, the train module
(:mod:`olmo_train.train_module`) owns it with its optimizer and the backend that places it (one device, DDP,
FSDP), the objective (:mod:`olmo_train.objective`) says what a batch's loss is, and callbacks
(:mod:`olmo_core.callbacks`) do everything around the step: checkpoints, metrics, progress, speed, energy,
loss checks and in-loop evaluation.

:meth:`Trainer.fit` owns the run's resources: whether training ends normally or fails, it calls the callbacks'
``close`` (after ``on_error`` on failure) and closes the backend, so callers only read the results.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from olmo_core.callbacks import Callback, SkipStep
from olmo_core.checkpoint import MANIFEST, latest_checkpoint, step_dir
from olmo_core.config import to_dict
from olmo_core.errors import ConfigError, OlmoError
from olmo_core.model_io import model_config_document
from olmo_core.plugins import get_host
from olmo_core.tokenizer import Tokenizer

from olmo_train.callbacks.loss_guard import NonFiniteLoss
from olmo_train.checkpointing import restore_checkpoint, save_training_checkpoint
from olmo_train.config import TrainConfig
from olmo_train.data import DataLoaderConfig
from olmo_train.objective import LanguageModelObjective, Objective
from olmo_train.train_module import TrainModule, load_initial_weights

__all__ = ["CallbackError", "NonFiniteLoss", "ResumeTerms", "Trainer", "check_batch_shape", "check_data_vocabulary",
           "check_resume"]

log = logging.getLogger(__name__)

RESUMABLE = ("max_steps", "micro_batch_size", "callbacks", "backend", "launcher", "threads")
"""The options a run may change when it resumes (how long, how a rank's share of a step is split into
micro-batches, what runs around the steps, where it runs); any other difference is refused, since the checkpoint's
model, optimizer, schedule and data order would win. ``micro_batch_size`` only splits the step: each micro-batch's
loss is its summed cross-entropy over the step's labelled-token count (all micro-batches, all ranks), so the
accumulated gradient is the same up to float rounding (and a resume at another world size may need another
``micro_batch_size`` to divide each rank's share)."""


class CallbackError(RuntimeError):
    """A callback's hook raised: the message names the callback (its name in the run's ``callbacks``, the
    registered component and the plugin and distribution that registered it) and the hook; the callback's own
    exception is chained (``__cause__``, also :attr:`original`). A callback's :class:`~olmo_core.errors.OlmoError`
    (a message meant for the user, such as :class:`NonFiniteLoss`), :class:`~olmo_core.callbacks.SkipStep` and a
    ``KeyboardInterrupt`` pass through as they are."""

    def __init__(self, callback: str, hook: str, original: BaseException) -> None:
        super().__init__(f"{callback} failed in {hook}: {type(original).__name__}: {original}")
        self.callback, self.hook, self.original = callback, hook, original


@dataclass(frozen=True, kw_only=True)
class ResumeTerms:
    """How a refused resume is told in the terms of the command that set the trainer's options (olmo adapt sets
    ``optim.lr`` from ``method.lr``); the default is olmo train's own keys.

    :param names: a trainer key (``optim.lr``) or its first part (``optim``) -> the caller's option, shown in its
        place (a first part is replaced in each key it starts: ``{"model": "checkpoint's model"}``); ``None``: the
        key is not compared (the caller compares what it comes from itself).
    :param resumable: what may change on resume, in the caller's options.
    :param start_over: how to start a new run instead; ``{checkpoint}`` in it is replaced by the checkpoint the run
        would resume from.
    """

    names: Mapping[str, str | None] = field(default_factory=dict)
    resumable: Sequence[str] = RESUMABLE
    start_over: str | None = None

    def name(self, key: str) -> str | None:
        """The caller's name of the trainer ``key`` (``None``: not compared)."""
        if key in self.names:
            return self.names[key]
        first, _, rest = key.partition(".")
        if first in self.names:
            name = self.names[first]
            return None if name is None else f"{name}.{rest}" if rest else name
        return key


SAME_CTRL_C_SECONDS = 2.0
"""A SIGINT this soon after the first counts as the same Ctrl-C: a parent such as ``uv run`` forwards the terminal's
Ctrl-C to the trainer, which gets it twice (about 0.2 s apart), and only a later one stops at once. The times are
taken when Python runs the handler, which waits for the operator in progress: the margin leaves room for a slow step
on a busy machine."""


class Trainer:
    """Trains a registered model; resumes from the newest complete checkpoint of its run directory.

    :param config: the run's options.
    :param run_dir: where the run keeps its checkpoints, metrics and plots (and resumes from).
    :param data: token-array directories for the default loader.
    :param objective: what to minimize (default: next-token cross-entropy with ``config.z_loss``).
    :param loader: where batches come from: an iterable of batch dicts with ``state_dict()`` and
        ``load_state_dict()`` (default: the token-array loader over ``data``).
    :param tokenizer: the tokenizer of the data (default: the one recorded with the token arrays).
    :param callbacks: callbacks to run besides the configured ones.
    :param warmup_fix: what a run whose warmup outlasts it is told to change to reach the schedule's peak, in the
        keys of whoever set the schedule (olmo adapt sets the warmup from ``method.warmup_ratio``; default: olmo
        train's ``scheduler.warmup_steps`` and ``max_steps``).
    :param resume_terms: how a refused resume names the options, in the keys of whoever set them (default: olmo
        train's).
    """

    step: int
    """Steps taken, skipped ones included: each consumed a global batch, and a step a callback's ``check_loss``
    skipped (:class:`~olmo_core.callbacks.SkipStep`: no parameter update, its metrics carry ``skipped: true``)
    counts as the schedule, the data order, checkpoints, resume and reports count it."""
    tokens_seen: int
    """Training tokens consumed (the whole global batch, all ranks), skipped steps included."""

    def __init__(self, config: TrainConfig, *, run_dir: str | Path, data: Sequence[str] = (),
                 objective: Objective | None = None, loader: Any = None, tokenizer: Tokenizer | None = None,
                 callbacks: Iterable[Callback] = (), warmup_fix: str | None = None,
                 resume_terms: ResumeTerms | None = None) -> None:
        self.config = config
        self.warmup_fix = warmup_fix
        self.resume_terms = resume_terms
        self.data = list(data)
        self.run_dir = Path(run_dir)
        self.checkpoints = self.run_dir / "checkpoints"
        self.max_steps = config.max_steps
        if config.threads:
            torch.set_num_threads(config.threads)
        torch.manual_seed(config.seed)
        host = get_host()
        backend = host.registry("train_backends").build(config.backend)
        self.rank, self.world_size = backend.rank, backend.world_size
        try:
            self._setup(config, backend, objective, loader, tokenizer, callbacks)
        except BaseException:
            backend.close()  # a trainer that fails to start leaves no process group behind
            raise

    def _setup(self, config: TrainConfig, backend: Any, objective: Objective | None, loader: Any,
               tokenizer: Tokenizer | None, callbacks: Iterable[Callback]) -> None:
        if loader is None:
            check_data_vocabulary(self.data, getattr(config.model, "vocab_size", None))
        host = get_host()
        model = host.registry("models").build(config.model)
        if config.init_from:
            initial_tokenizer = load_initial_weights(model, config.init_from, model_config=config.model)
            tokenizer = tokenizer or initial_tokenizer
        self.train_module = TrainModule(
            model, backend, lambda placed: host.registry("optimizers").build(config.optim, model=placed))
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
        self._callback_names = {name: _describe_callback(name, registry, spec)
                                for name, spec in (config.callbacks or {}).items()}
        self.step = 0
        self.tokens_seen = 0
        self._resume()

    # -- what the train module owns ------------------------------------------------------------------------

    @property
    def backend(self) -> Any:
        """The training backend (owned by :attr:`train_module`)."""
        return self.train_module.backend

    @property
    def plain_model(self) -> torch.nn.Module:
        """The model being trained, unwrapped (its parameters are sharded under ``fsdp``)."""
        return self.train_module.plain_model

    @property
    def model(self) -> torch.nn.Module:
        """The module the steps call: :attr:`plain_model` as the backend placed (and wrapped) it."""
        return self.train_module.model

    @property
    def optimizer(self) -> torch.optim.Optimizer:
        """The optimizer over :attr:`plain_model`'s parameters."""
        return self.train_module.optimizer

    def _token_loader(self) -> Any:
        config = self.config
        check_batch_shape(config, self.world_size)
        loader_config = DataLoaderConfig(paths=self.data, seq_len=config.seq_len,
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
        saved = json.loads((latest / "trainer.json").read_text()).get("config")
        _check_resumable(saved, self.config, latest, self.resume_terms)
        trainer = restore_checkpoint(self.train_module, latest)
        self.step, self.tokens_seen = trainer["step"], trainer["tokens_seen"]
        self.loader.load_state_dict(trainer["data_loader"])
        for name, state in trainer.get("callbacks", {}).items():
            if name in self.callbacks:
                self._call(name, "load_state_dict", state)
        if self.is_main:
            log.info(f"resuming from {latest} (step {self.step})")
            saved_max = (saved or {}).get("max_steps")
            if isinstance(saved_max, int) and (warning := self._schedule_moves(saved_max)):
                log.warning(warning)

    def _schedule_moves(self, saved_max: int) -> str | None:
        """What to say when the run resumes with another ``max_steps`` than its checkpoint's (``saved_max``) and the
        schedule, defined over ``max_steps``, so gives the coming steps other learning rates; ``None`` otherwise."""
        step, new_max = self.step, self.max_steps
        if new_max == saved_max or new_max <= step or not self.optimizer.param_groups:
            return None  # the same schedule, or no step to train (said when the run starts)
        peak = self.optimizer.param_groups[0].get("initial_lr", self.optimizer.param_groups[0]["lr"])
        end = max(step, min(saved_max, new_max) - 1)  # the last step both schedules define (or the next one)
        probes = {step, (step + end) // 2, end}
        if all(self.schedule.lr(s, saved_max, peak) == self.schedule.lr(s, new_max, peak) for s in probes):
            return None  # e.g. a constant rate: max_steps does not change it
        was = self.schedule.lr(step - 1, saved_max, peak) if step > 0 else None
        would, becomes = self.schedule.lr(step, saved_max, peak), self.schedule.lr(step, new_max, peak)
        return (f"max_steps changed from {saved_max} to {new_max} on resume: the learning-rate schedule is defined "
                f"over max_steps, so it is recomputed for the new length"
                + (f" (step {step} ran at lr {was:.6g})" if was is not None else "")
                + f": step {step + 1} runs at lr {becomes:.6g} instead of {would:.6g}, and the remaining steps "
                  f"follow the {new_max}-step schedule (OLMo's definition; keep max_steps={saved_max} for the first "
                  f"one)")

    def save_checkpoint(self) -> Path:
        """Write the checkpoint of the current step (model, optimizer, data order, RNG, callbacks' state).

        Every rank calls it: whole checkpoints are written by rank 0, sharded ones (``backend=fsdp``) by all.
        """
        path = save_training_checkpoint(
            self.train_module, self.checkpoints, step=self.step, tokens_seen=self.tokens_seen,
            data_loader=self.loader.state_dict(),
            callbacks={name: self._call(name, "state_dict") for name in self.callbacks},
            config=to_dict(self.config), model_config=self.config.model, tokenizer=self._checkpoint_tokenizer())
        for name in self.callbacks:
            self._call(name, "on_checkpoint", self, path)
        return path

    # -- the step ----------------------------------------------------------------------------------------

    def train_step(self, batch: dict[str, Any]) -> dict[str, Any]:
        """One optimizer step over this rank's share of a global batch, accumulated over micro-batches.

        Returns the step's metrics (``step``, ``loss`` and the objective's other metrics, ``lr``,
        ``grad_norm``, ``tokens`` over all ranks, ``seconds``), before callbacks add theirs. A step a callback's
        ``check_loss`` skips (:class:`~olmo_core.callbacks.SkipStep`) updates nothing but still counts
        (:attr:`step`); its metrics carry ``skipped: True`` and a NaN ``grad_norm`` (none was taken).
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
            for name in self.callbacks:
                self._call(name, "check_loss", self, metrics)
            max_norm = config.grad_clip if config.grad_clip is not None else math.inf
            grad_norm = float(self.backend.clip_grad_norm(self.model, max_norm))
            self.optimizer.step()
        except SkipStep:
            self.optimizer.zero_grad(set_to_none=True)
            grad_norm = math.nan
            metrics["skipped"] = True
        tokens = self.objective.tokens(batch) * self.world_size
        self.step = step
        self.tokens_seen += tokens
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        metrics.update(grad_norm=grad_norm, tokens=tokens, seconds=time.perf_counter() - start,
                       seq_len=int(batch["input_ids"].shape[-1]) if "input_ids" in batch else None)
        return metrics

    def fit(self, *, checkpoint_at_end: bool = False) -> list[dict[str, Any]]:
        """Train until ``max_steps``; return the metrics of the steps run (each as the callbacks left it).

        :param checkpoint_at_end: also save a checkpoint of the last step when the callbacks left none.

        When anything raises (a step, a callback, a checkpoint), every callback's ``on_error`` sees the
        exception, which then propagates. On every path the callbacks' ``close`` runs and the backend is
        closed: the trainer's model, history and files stay readable, but it trains no more.
        """
        error: BaseException | None = None
        try:
            return self._fit(checkpoint_at_end)
        except BaseException as exc:
            error = exc
            if isinstance(exc, KeyboardInterrupt) and self.is_main:
                latest = latest_checkpoint(self.checkpoints)
                log.warning(f"stopped at step {self.step}: " + (f"rerun the command to resume from {latest}" if latest
                                                                else "no checkpoint was saved, a rerun starts over"))
            original = exc.original if isinstance(exc, CallbackError) else exc  # what on_error always saw
            for name, callback in self.callbacks.items():
                try:
                    callback.on_error(self, original)
                except Exception as failure:  # the run's own error is the one to report
                    log.warning(f"{self._callback_name(name)} failed in on_error: {failure!r}")
            raise
        finally:
            if error is None:
                self.close()
            else:
                try:
                    self.close()
                except Exception as failure:
                    log.warning(f"closing the trainer after {type(error).__name__} failed too: {failure!r}")

    def close(self) -> None:
        """Call every callback's ``close`` (in their order), then close the backend (once). :meth:`fit` calls this
        on every path; call it yourself only for a trainer you never fit. The first error of a callback's
        ``close`` is raised once all are done."""
        first: Exception | None = None
        for name in self.callbacks:
            try:
                self._call(name, "close", self)
            except Exception as failure:
                first = first or failure
        self.train_module.close()
        if first is not None:
            raise first

    def _fit(self, checkpoint_at_end: bool) -> list[dict[str, Any]]:
        if self.is_main and self.step < self.max_steps and (
                warning := _warmup_outlasts_run(self.schedule, self.max_steps,
                                                fix=self.warmup_fix)):  # no step runs: nothing to warn of
            log.warning(warning)
        if self.is_main and self.step > self.max_steps:  # at max_steps: a rerun of a finished run, said by the job
            log.warning(f"the run resumed at step {self.step}, already past max_steps={self.max_steps}: nothing was "
                        f"trained (give a max_steps above {self.step} to train on)")
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.json").write_text(json.dumps(to_dict(self.config), indent=2, default=str) + "\n")
            (self.run_dir / "model_config.json").write_text(
                json.dumps(model_config_document(self.config.model)) + "\n")
        for name in self.callbacks:
            self._call(name, "on_fit_start", self)
        history = []
        self.model.train()
        batches = self._batches()
        with self._stop_after_step_on_interrupt() as interrupted:
            while self.step < self.max_steps:
                metrics = self.train_step(next(batches))
                for name in self.callbacks:
                    self._call(name, "on_step_end", self, metrics)
                history.append(metrics)
                if self._interrupted_anywhere(interrupted):
                    self._save_unless_saved()
                    raise KeyboardInterrupt
        if checkpoint_at_end:
            self._save_unless_saved()
        for name in self.callbacks:
            self._call(name, "on_fit_end", self)
        return history

    def _callback_name(self, name: str) -> str:
        """``callback 'name'`` of :attr:`callbacks`, with the component and plugin it came from when known."""
        return self._callback_names.get(name) or f"callback '{name}'"

    def _call(self, name: str, hook: str, *args: Any) -> Any:
        """Call the ``hook`` method of the callback ``name``; an error it raises names the callback
        (:class:`CallbackError`)."""
        try:
            return getattr(self.callbacks[name], hook)(*args)
        except (OlmoError, SkipStep, CallbackError):
            raise
        except Exception as exc:
            raise CallbackError(self._callback_name(name), hook, exc) from exc

    def _save_unless_saved(self) -> None:
        if not (step_dir(self.checkpoints, self.step) / MANIFEST).is_file():
            self.save_checkpoint()

    def _interrupted_anywhere(self, interrupted: list[int]) -> bool:
        """Whether a Ctrl-C reached this process, or with several ranks any of them: they agree after every step
        (one small all-reduce), so that all stop after the same step and save it together."""
        if self.world_size == 1:
            return bool(interrupted)
        flag = torch.tensor(float(bool(interrupted)), device=self.device)
        return float(self.backend.all_reduce(flag)) > 0

    @contextlib.contextmanager
    def _stop_after_step_on_interrupt(self) -> Iterator[list[int]]:
        """A first Ctrl-C (SIGINT, appended to the yielded list) lets the step finish and be saved; a second, later
        than :data:`SAME_CTRL_C_SECONDS` after it, stops at once. Several ranks (``launcher.nproc``, torchrun) get
        the SIGINT from their launcher, which Ctrl-C stopped; they agree after each step to stop after the same one
        (:meth:`_interrupted_anywhere`)."""
        interrupted: list[int] = []
        if threading.current_thread() is not threading.main_thread():
            yield interrupted
            return
        first = 0.0

        def interrupt(signum: int, frame: Any) -> None:
            nonlocal first
            if interrupted:
                if time.monotonic() - first < SAME_CTRL_C_SECONDS:
                    return
                raise KeyboardInterrupt
            first = time.monotonic()
            interrupted.append(signum)
            if self.is_main:
                log.warning(f"interrupted: saving step {self.step + 1} once it is done"
                            + (" (Ctrl-C again stops at once)" if self.world_size == 1 else ""))

        previous = signal.signal(signal.SIGINT, interrupt)
        try:
            yield interrupted
        finally:
            signal.signal(signal.SIGINT, previous)

    def _batches(self) -> Iterator[dict[str, Any]]:
        while True:
            fresh = True
            for batch in self.loader:
                fresh = False
                yield batch
            if fresh:
                raise ConfigError("the data hold fewer examples than one global batch: add data or lower "
                                  "global_batch_size")


def _describe_callback(key: str, registry: Any, spec: Any) -> str:
    """``callback 'key'`` of a run's ``callbacks`` option, with the registered component (when its name is
    another) and the plugin and distribution that registered it."""
    try:
        component = registry.component_of(spec)
    except OlmoError:
        return f"callback '{key}'"
    registered = f"'{component.name}' of " if component.name != key else ""
    return f"callback '{key}' ({registered}{component.origin})"


def _flat(value: Any, key: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {key: value}
    return {k: v for name, item in value.items() for k, v in _flat(item, f"{key}.{name}" if key else name).items()}


def _warmup_outlasts_run(schedule: Any, max_steps: int, *, fix: str | None = None) -> str | None:
    """What to say about a schedule whose warmup lasts the whole run (it never reaches its peak); ``None`` when
    the warmup ends before ``max_steps`` or the schedule has none. ``fix``: what to change, in the keys of the run's
    caller (:attr:`Trainer.warmup_fix`); by default olmo train's (``scheduler.warmup_steps``, ``max_steps``)."""
    warmup = getattr(getattr(schedule, "config", None), "warmup_steps", 0)
    if warmup < max_steps:
        return None
    last = schedule.lr(max_steps - 1, max_steps, 1.0)  # the last step's rate, as a fraction of the peak
    fix = fix or f"set scheduler.warmup_steps below {max_steps}, or max_steps above {warmup},"
    return (f"scheduler.warmup_steps={warmup} is not below max_steps={max_steps}: the run ends inside warmup, at "
            f"{last:.0%} of the peak learning rate; {fix} for the schedule to reach its peak")


def check_batch_shape(config: TrainConfig, world_size: int) -> None:
    """Refuse a ``global_batch_size`` that is not a whole number of ``seq_len`` instances divisible by the
    ``world_size`` ranks, and a ``micro_batch_size`` that does not divide each rank's share."""
    instances = config.global_batch_size // config.seq_len
    if config.global_batch_size % config.seq_len or instances % world_size:
        raise ConfigError(f"global_batch_size={config.global_batch_size} must be a whole number of instances "
                          f"of seq_len={config.seq_len}, divisible by the world size {world_size}")
    if (instances // world_size) % config.micro_batch_size:
        raise ConfigError(f"micro_batch_size={config.micro_batch_size} must divide the "
                          f"{instances // world_size} instances each rank gets of a global batch (a run may resume "
                          f"with another micro_batch_size, as with another world size)")


def check_resume(run_dir: str | Path, config: TrainConfig | Callable[[dict[str, Any]], TrainConfig], *,
                 terms: ResumeTerms | None = None) -> None:
    """Refuse, before a run starts, to resume the run in ``run_dir`` with other options than its newest checkpoint
    was saved with (but :data:`RESUMABLE`); a new run (no checkpoint there) is accepted. ``config``: the run's
    options, or what gives them from the options the checkpoint was saved with (olmo adapt takes the saved run's
    steps, which its warmup depends on), so that the checkpoint's ``trainer.json`` is read once. ``terms``: how the
    refusal names the options, in the caller's own keys (default: olmo train's)."""
    latest = latest_checkpoint(Path(run_dir) / "checkpoints")
    if latest is not None:
        saved = json.loads((latest / "trainer.json").read_text()).get("config")
        _check_resumable(saved, config(saved or {}) if callable(config) else config, latest, terms)


def _check_resumable(saved: dict[str, Any] | None, config: TrainConfig, checkpoint: Path,
                     terms: ResumeTerms | None = None) -> None:
    """Refuse to resume from ``checkpoint`` (saved with the options ``saved``) with options other than
    :data:`RESUMABLE` changed: the checkpoint would silently override them. ``terms``: the caller's names of the
    options (default: olmo train's keys)."""
    if saved is None:
        return
    old, new = _flat(saved), _flat(json.loads(json.dumps(to_dict(config), default=str)))
    changed = [(key, old.get(key, "(unset)"), new.get(key, "(unset)")) for key in sorted(old | new)
               if key.split(".")[0] not in RESUMABLE and old.get(key) != new.get(key)]
    if terms is not None:
        named = [(terms.name(key), was, now) for key, was, now in changed]
        changed = [(name, was, now) for name, was, now in named if name is not None]
    if changed:
        listed = "; ".join(f"{key} {was} -> {now}" for key, was, now in changed)
        resumable = terms.resumable if terms is not None else RESUMABLE
        start_over = (terms.start_over.format(checkpoint=checkpoint) if terms and terms.start_over else None) or (
            f"use a new output= (a new run starts from these weights with init_from={checkpoint} in olmo train, "
            f"checkpoint={checkpoint} in olmo adapt)")
        raise ConfigError(f"the run resumes from {checkpoint}, saved with other options: {listed}. "
                          f"Only {', '.join(resumable)} may change on resume: {start_over}")


def check_data_vocabulary(directories: Sequence[str], vocab_size: int | None) -> None:
    """Refuse token arrays whose parts record a larger vocabulary than the model's ``vocab_size`` (``None``: the
    model has none to compare): their ids from ``vocab_size`` up have no row in the model's embedding. A part
    without olmo metadata (a Dolma/OLMo ``.npy``) is not checked."""
    from olmo_core.token_arrays import part_meta, part_urls

    if vocab_size is None:
        return
    for directory in directories:
        for url in part_urls(directory):
            meta = part_meta(url)
            tokenizer = meta.get("tokenizer") or {}
            data_vocab = meta.get("vocab_size") or tokenizer.get("vocab_size")
            if data_vocab is not None and data_vocab > vocab_size:
                raise ConfigError(
                    f"the token arrays {directory} were made with the tokenizer {tokenizer.get('name', '(unnamed)')}, "
                    f"of {data_vocab} tokens, but the model's vocab_size is {vocab_size} (its embedding has no row "
                    f"for ids {vocab_size} and above): train a model with a vocabulary of at least {data_vocab} tokens "
                    f"(model.vocab_size={data_vocab}), or tokenize the data with the model's tokenizer "
                    f"(olmo data tokenize tokenizer=...)")


def _data_tokenizer(loader: Any) -> Tokenizer:
    """The tokenizer recorded in the token arrays a loader reads."""
    from olmo_core.tokenizer import check_tokenizer_fits, load_tokenizer

    identity = next(p.meta["tokenizer"] for p in loader.dataset.parts if p.meta.get("tokenizer"))
    tokenizer = load_tokenizer(identity["name"])
    check_tokenizer_fits(tokenizer, identity=identity, where="the token arrays",
                         hint="the tokenizer of that name here is not the one the data were made with")
    return tokenizer
