"""The contract between a trainer and its callbacks.

Callbacks are registered through ``olmo_register_callbacks`` and selected with ``callbacks=[...]`` on
``olmo train`` (and on every command that trains: pretraining, SFT, DPO). They live here, in core, so that a
package that is not the trainer (olmo-eval's in-loop evaluation, a third party's logger) can write one
without importing olmo-train: the trainer is reached only through the :class:`TrainerView` it passes in.

The trainer calls, in the callbacks' ``order`` (lowest first; ties keep the configured order):

1. :meth:`Callback.on_fit_start` once, after resuming and before the first step;
2. per optimizer step, :meth:`Callback.check_loss` with the step's loss and learning rate before the
   optimizer steps (any callback may veto the update), then :meth:`Callback.on_step_end` with the step's metrics, a dict
   that callbacks may add keys to (those that write metrics run last, so they see every key);
3. :meth:`Callback.on_checkpoint` after each checkpoint is complete on disk;
4. :meth:`Callback.on_fit_end` once, when training stops normally; or instead, when anything in the run
   raises (``on_fit_start``, a step, a callback, a checkpoint, ``on_fit_end`` itself),
   :meth:`Callback.on_error` once with the exception, after which the exception propagates to the caller;
5. :meth:`Callback.close` once on every path, last (after ``on_fit_end`` or ``on_error``); then the trainer
   closes its backend (process group), so nothing that needs it may run in ``close``.

``close`` is where a callback releases what it holds (open files, writers, device handles, a live progress
line); it must work whatever ran before it (``on_fit_start`` may not have run, or may have failed halfway),
and when called again. An exception from ``on_error`` is reported and does not hide the run's own error; the
first exception from ``close`` is raised once every callback has been closed and the backend too, unless the
run already failed.

A callback that keeps state across steps returns it from :meth:`Callback.state_dict` (JSON-serializable);
the trainer saves it in each checkpoint under the callback's name and hands it back through
:meth:`Callback.load_state_dict` when the run resumes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from olmo_core.tokenizer import Tokenizer

__all__ = ["Callback", "SkipStep", "TrainerView"]


class TrainerView(Protocol):
    """What a callback may read from (and do with) the trainer that calls it."""

    model: Any
    """The model being trained (a ``torch.nn.Module``; wrapped by a distributed backend where one is used)."""
    step: int
    """Steps taken, skipped ones included: a step a callback's ``check_loss`` skipped (``SkipStep``) updates no
    parameters but counts, as the schedule, checkpoints and resume count it."""
    tokens_seen: int
    """Training tokens consumed so far (the whole global batch, all ranks)."""
    max_steps: int
    """The step training stops at."""
    run_dir: Path
    """The run directory: ``metrics.jsonl``, ``checkpoints/``, ``plots/``."""
    rank: int
    """This process's rank (0 on one device)."""
    world_size: int
    """The number of training processes."""

    @property
    def is_main(self) -> bool:
        """Whether this process writes the run's files (rank 0)."""

    @property
    def device(self) -> Any:
        """The ``torch.device`` the model's parameters are on."""

    @property
    def tokenizer(self) -> Tokenizer:
        """The tokenizer the training data was made with."""

    def save_checkpoint(self) -> Path:
        """Write a checkpoint of the current step now and return its directory."""


class SkipStep(Exception):
    """Raised by :meth:`Callback.check_loss` to drop this step's update and go on with the next batch."""


class Callback:
    """A trainer callback: override the methods you need; every default does nothing."""

    order: int = 0
    """Where the callback runs among the others: lower first. Writers of metrics use 100."""

    def on_fit_start(self, trainer: TrainerView) -> None:
        """Training is about to start (or resume at ``trainer.step``)."""

    def check_loss(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        """Inspect the step's metrics so far (``step``, ``loss`` and the objective's other values, ``lr``)
        before the optimizer uses its gradients.

        Raise an :class:`~olmo_core.errors.OlmoError` to stop the run with a diagnosis, or :class:`SkipStep`
        to skip the update.
        """

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        """Step ``metrics["step"]`` is done; add keys to ``metrics`` to have them logged."""

    def on_checkpoint(self, trainer: TrainerView, path: Path) -> None:
        """A checkpoint was completed at ``path``."""

    def on_fit_end(self, trainer: TrainerView) -> None:
        """Training finished at ``trainer.max_steps`` (not called when it fails)."""

    def on_error(self, trainer: TrainerView, exc: BaseException) -> None:
        """Training failed with ``exc`` (raised again once every callback has seen it); ``trainer.step`` is the
        last completed step. Do not train or checkpoint here: the model may be half-updated."""

    def close(self, trainer: TrainerView) -> None:
        """The run is over, normally or not: release files, writers and handles (may be called again)."""

    def state_dict(self) -> dict[str, Any]:
        """State to keep in checkpoints (JSON-serializable)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
