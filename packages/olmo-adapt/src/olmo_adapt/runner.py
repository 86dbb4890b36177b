"""Running any adaptation method on olmo-train's trainer: the one path shared by the commands and the stages.

The run starts from a checkpoint (``init_from``), trains with AdamW and a linear warmup then linear decay to 0
(open-instruct's schedule), uses the checkpoint's tokenizer, and ends with a checkpoint of its last step. Run
again in the same run directory, it resumes from its newest checkpoint exactly. The trainer's ``fit`` closes its
callbacks and backend on every path: the returned trainer is for reading (step, run directory, callbacks).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_core.callbacks import Callback
from olmo_core.errors import ConfigError
from olmo_core.plugins import get_host

from olmo_adapt.checkpoints import model_config, resolve_tokenizer
from olmo_adapt.method import AdaptRun, Method, MethodSettings, Prepared
from olmo_core.chat_template import TuluTemplate

__all__ = ["JOB_RESUMABLE", "AdaptResult", "check_rerun", "resumable", "resume_terms", "run_method", "train_config"]

log = logging.getLogger(__name__)

JOB_RESUMABLE = ("callbacks", "backend", "threads", "sample_prompt")
"""The job's options a run may change when it resumes (what runs around the steps, where it runs, the report's
sample); the method's are :attr:`MethodSettings.resumable`."""

START_OVER = "use a new output= (a new run starts from these weights with checkpoint={checkpoint})"
"""How a refused resume is told to start over (``{checkpoint}``: the checkpoint it would resume from)."""

TRAINER_NAMES: dict[str, str | None] = {
    "optim.lr": "method.lr", "optim.weight_decay": "method.weight_decay", "optim.betas": "method.adam_betas",
    "optim.eps": "method.adam_eps", "grad_clip": "method.grad_clip", "seq_len": "method.max_length",
    # method.batch_size x method.max_length, and method.warmup_ratio of the steps: the method's options are compared
    # by check_rerun (a longer run, method.max_steps, legitimately has more warmup steps)
    "global_batch_size": None, "scheduler.warmup_steps": None,
    "init_from": "checkpoint", "model": "checkpoint's model", "seed": "seed"}
"""The trainer's keys an adaptation run sets, by the options they come from."""


def resumable(settings: MethodSettings) -> tuple[str, ...]:
    """The options (``method.<option>`` and the job's) a run of ``settings`` may change when it resumes."""
    return (*(f"method.{option}" for option in settings.resumable), *JOB_RESUMABLE)


def resume_terms(settings: MethodSettings) -> Any:
    """How a refused resume names the trainer's keys in adapt's options (:class:`olmo_train.trainer.ResumeTerms`)."""
    from olmo_train.trainer import ResumeTerms

    return ResumeTerms(names=TRAINER_NAMES, resumable=resumable(settings), start_over=START_OVER)


@dataclass(kw_only=True)
class AdaptResult:
    """What a finished adaptation run leaves."""

    trainer: Any
    history: list[dict[str, Any]]
    prepared: Prepared
    checkpoint: Path


def train_config(settings: MethodSettings, *, checkpoint: Path, steps: int, backend: Any, callbacks: Any, seed: int,
                 threads: int | None) -> Any:
    """The :class:`olmo_train.config.TrainConfig` of an adaptation run of ``steps`` steps."""
    from olmo_train.config import TrainConfig

    host = get_host()
    _, optim = host.registry("optimizers").resolve("adamw")
    optim.lr, optim.weight_decay = settings.lr, settings.weight_decay
    optim.betas, optim.eps = list(settings.adam_betas), settings.adam_eps
    _, scheduler = host.registry("schedulers").resolve("linear_with_warmup")
    scheduler.warmup_steps = math.ceil(steps * settings.warmup_ratio)
    scheduler.warmup_start_fraction, scheduler.alpha_f = 0.0, 0.0
    return TrainConfig(model=model_config(checkpoint), optim=optim, scheduler=scheduler,
                       backend=backend, callbacks=callbacks, init_from=str(checkpoint),
                       seq_len=settings.max_length, global_batch_size=settings.batch_size * settings.max_length,
                       micro_batch_size=settings.micro_batch_size, max_steps=steps, seed=seed,
                       grad_clip=settings.grad_clip, threads=threads)


def check_rerun(settings: MethodSettings, *, checkpoint: str | Path, run_dir: str | Path, backend: Any,
                callbacks: Any, seed: int, threads: int | None) -> None:
    """Refuse, before anything in ``run_dir`` changes, to resume the run there with options its newest checkpoint
    was not saved with: first the method's (what :meth:`MethodSettings.trained_with` records in the run's
    ``data.json``: the objective's options, the reference, packing, the data and their content ...), then the
    trainer's (:func:`~olmo_train.trainer.check_resume`), all named as adapt's options. The run's steps come from its
    data unless ``max_steps`` is set; here, short of preparing the data, they are the saved run's (a change of
    ``epochs`` alone is found when the run starts), from the same read of its ``trainer.json`` as the check."""
    from olmo_core.checkpoint import latest_checkpoint
    from olmo_train.trainer import check_resume

    def resumed(saved: dict[str, Any]) -> Any:
        _check_trained_with(settings, Path(run_dir), latest_checkpoint(Path(run_dir) / "checkpoints"))
        steps = settings.max_steps or int(saved.get("max_steps") or 1)
        return train_config(settings, checkpoint=Path(checkpoint), steps=steps, backend=backend, callbacks=callbacks,
                            seed=seed, threads=threads)

    check_resume(run_dir, resumed, terms=resume_terms(settings))


def _check_trained_with(settings: MethodSettings, run_dir: Path, latest: Path | None,
                        trained_with: dict[str, Any] | None = None) -> None:
    """Refuse to resume from ``latest`` with method options that change what is trained (a run that recorded none,
    made before they were recorded, is not refused here). ``trained_with``: ``settings.trained_with()`` if the
    caller has it."""
    record = run_dir / "data.json"
    saved = json.loads(record.read_text()).get("trained_with") if record.is_file() else None
    if saved is None or latest is None:
        return
    now = json.loads(json.dumps(settings.trained_with() if trained_with is None else trained_with, default=str))
    changed = [f"{_option(key)} {_shown(saved.get(key))} -> {_shown(now.get(key))}" for key in sorted(saved | now)
               if saved.get(key) != now.get(key)]
    if changed:
        raise ConfigError(f"the run resumes from {latest}, saved with other options: {'; '.join(changed)}. Only "
                          f"{', '.join(resumable(settings))} may change on resume: "
                          f"{START_OVER.format(checkpoint=latest)}")


def _option(key: str) -> str:
    return "the content of method.data (sha256)" if key == "data sha256" else f"method.{key}"


def _shown(value: Any) -> str:
    return "(unset)" if value is None else str(value)


def run_method(method: Method, *, checkpoint: str | Path, run_dir: str | Path, backend: Any,
               callbacks: Any, seed: int = 0, threads: int | None = None, tokenizer: str | None = None,
               extra_callbacks: Sequence[Callback] = ()) -> AdaptResult:
    """Prepare ``method``'s data for the checkpoint's tokenizer and train; return the trainer and its history. A run
    that resumes is refused, before its data are prepared, when its method options change what is trained (as
    :func:`check_rerun` refuses it before the job starts)."""
    from olmo_core.checkpoint import latest_checkpoint, step_dir
    from olmo_train.trainer import Trainer

    from olmo_adapt.evaluation import plot_held_out

    start = Path(checkpoint)
    chat_tokenizer = resolve_tokenizer(start, tokenizer)
    run_dir = Path(run_dir)
    trained_with = method.config.trained_with()
    _check_trained_with(method.config, run_dir, latest_checkpoint(run_dir / "checkpoints"), trained_with)
    prepared = method.prepare(AdaptRun(template=TuluTemplate(chat_tokenizer), checkpoint=start, run_dir=run_dir,
                                       seed=seed))
    settings = method.config
    steps = settings.max_steps or max(1, math.ceil(settings.epochs * prepared.loader.steps_per_epoch))
    config = train_config(settings, checkpoint=start, steps=steps, backend=backend, callbacks=callbacks, seed=seed,
                          threads=threads)
    trainer = Trainer(config, run_dir=run_dir, objective=prepared.objective, loader=prepared.loader,
                      tokenizer=chat_tokenizer, callbacks=[*prepared.callbacks, *extra_callbacks],
                      resume_terms=resume_terms(settings),
                      warmup_fix=f"lower method.warmup_ratio (now {settings.warmup_ratio:g}) or train more steps "
                                 f"(method.max_steps, method.epochs)")
    try:
        prepared.loader.shard(trainer.rank, trainer.world_size)
        if prepared.start is not None:
            prepared.start(trainer)
        if trainer.is_main:
            log.info(f"{run_dir.name}: {prepared.skips.summary()}; {steps} steps")
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "data.json").write_text(json.dumps({**prepared.skips.as_dict(), **prepared.summary,
                                                           "trained_with": trained_with},
                                                          indent=2, default=str) + "\n")
    except BaseException:
        trainer.close()  # fit, which would have, never ran
        raise
    history = trainer.fit(checkpoint_at_end=True)
    if trainer.is_main:
        plot_held_out(run_dir)  # the in-loop figure, with the values before training at step 0
    return AdaptResult(trainer=trainer, history=history, prepared=prepared,
                       checkpoint=step_dir(trainer.checkpoints, trainer.step))
