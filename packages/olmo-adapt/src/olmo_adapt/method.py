"""What an adaptation method is: the contract behind ``olmo_register_adapters``.

A method is built by its registered factory from its config (a subclass of :class:`MethodSettings`, which
holds the optimization settings every method shares). :meth:`Method.prepare` reads and tokenizes the data and
returns a :class:`Prepared`: the objective and loader the trainer of olmo-train runs, callbacks to add, and a
``start`` function called with the trainer once it is built (to shard the loader, compute reference
log-probabilities ...). :func:`olmo_adapt.runner.run_method` does the rest, the same for every method.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from olmo_core.callbacks import Callback
from olmo_core.config import non_negative, positive
from olmo_core.errors import ConfigError

from olmo_adapt.examples import NOTHING_TRAINED, TOO_LONG, Skips
from olmo_core.chat_template import TuluTemplate

if TYPE_CHECKING:
    from olmo_adapt.loader import ExampleLoader

__all__ = ["OVERLONG", "AdaptRun", "Method", "MethodSettings", "Prepared", "check_choice", "check_one_batch",
           "warn_small_held_out"]

log = logging.getLogger(__name__)

OVERLONG = ("skip", "truncate")


def check_choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    """Refuse ``value`` of the option ``key`` unless it is one of ``choices``."""
    if value not in choices:
        raise ConfigError(f"method.{key} must be {_either(choices)}, not {value!r}")


def _either(choices: tuple[str, ...]) -> str:
    return " or ".join(choices) if len(choices) < 3 else f"one of {', '.join(choices)}"


@dataclass(kw_only=True)
class MethodSettings:
    """The data and optimization settings every adaptation method has (AdamW, linear warmup then linear
    decay to 0, as in open-instruct and the OLMo paper)."""

    data: str = ""
    """A built-in set or a JSON lines file of the method's format (see docs/adaptation.md)."""
    eval_examples: int = non_negative(0)
    """Examples held out of training (the same ones for any file order) and evaluated during training."""
    max_examples: int | None = positive(None)
    """Train on at most this many examples (the first ones after the held-out split; ``null``: all)."""
    eval_interval: int = non_negative(0)
    """Evaluate the held-out examples every this many steps, and at the last step (0: only at the last)."""
    max_length: int = positive(256)
    """Most tokens of one conversation (prompt and answer)."""
    overlong: str = "skip"
    """A conversation longer than ``max_length``: ``skip`` it, or ``truncate`` it (keep the start)."""
    lr: float = non_negative(1e-4)
    """Peak learning rate."""
    epochs: float = positive(1.0)
    """Passes over the training examples (the run has ``ceil(epochs * batches per epoch)`` steps)."""
    max_steps: int | None = positive(None)
    """Train for exactly this many steps instead (``null``: from ``epochs``)."""
    warmup_ratio: float = non_negative(0.03)
    """Fraction of the steps over which the learning rate rises linearly from 0 to ``lr``."""
    weight_decay: float = non_negative(0.0)
    """AdamW weight decay."""
    adam_betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    """AdamW's (beta1, beta2) (open-instruct uses torch's defaults)."""
    adam_eps: float = positive(1e-8)
    """AdamW's epsilon."""
    grad_clip: float | None = positive(None)
    """Clip the global gradient norm to this (``null``: no clipping)."""
    batch_size: int = positive(8)
    """Examples (conversations or pairs) per optimizer step, over all ranks."""
    micro_batch_size: int = positive(4)
    """Rows per forward/backward pass (with packing: packed rows)."""

    resumable: ClassVar[tuple[str, ...]] = ("max_steps", "epochs", "micro_batch_size", "eval_interval")
    """The options a run may change when it resumes: how long it trains, how a step is split into micro-batches,
    how often the held-out examples are evaluated. Every other option changes what is trained."""

    def __post_init__(self) -> None:
        check_choice("overlong", self.overlong, OVERLONG)

    def trained_with(self) -> dict[str, Any]:
        """What a run of these settings trains, by option name: every option but :attr:`resumable`, and the
        content of the ``data`` file (``data sha256``; a built-in set is fixed by its name). A run resumes only
        with the same (:func:`olmo_adapt.runner.check_rerun`)."""
        from olmo_core.io import is_file, open_file

        record = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if f.name not in self.resumable and not f.name.startswith("_")}  # not the selected preset's name
        if self.data and is_file(self.data):
            digest = hashlib.sha256()
            with open_file(self.data, "rb") as f:
                while chunk := f.read(1 << 20):
                    digest.update(chunk)
            record["data sha256"] = digest.hexdigest()
        return record


@dataclass(kw_only=True)
class AdaptRun:
    """What a method prepares its data for."""

    template: TuluTemplate
    """The chat template with the checkpoint's tokenizer."""
    checkpoint: Path
    """The checkpoint training starts from."""
    run_dir: Path
    """The run directory."""
    seed: int
    """Seed of the data order."""


@dataclass(kw_only=True)
class Prepared:
    """What a method hands the trainer."""

    objective: Any
    """An :class:`olmo_train.objective.Objective`."""
    loader: ExampleLoader[Any]
    """The training batches."""
    skips: Skips
    """Kept and skipped examples, by reason (training and held-out together)."""
    callbacks: list[Callback] = field(default_factory=list)
    """Callbacks to run besides the configured ones (held-out evaluation ...)."""
    start: Callable[[Any], None] | None = None
    """Called with the trainer once built, before training."""
    summary: dict[str, Any] = field(default_factory=dict)
    """Facts for the result and the report (example and token counts ...)."""


class Method(Protocol):
    """An adaptation method, as its ``olmo_register_adapters`` factory builds it from its config."""

    config: MethodSettings

    def prepare(self, run: AdaptRun) -> Prepared:
        """Read and tokenize the data; return the objective, the loader and what else training needs."""
        ...


def check_one_batch(kept: int, settings: MethodSettings, skips: Skips, *, noun: str) -> None:
    """Refuse a run whose ``kept`` training examples do not fill one batch, saying why the others were skipped."""
    if kept >= settings.batch_size:
        return
    reasons = ", ".join(_reason(reason, n, settings) for reason, n in sorted(skips.reasons.items()))
    tally = (f"all {skips.total} were skipped ({reasons})" if not skips.kept
             else f"kept {skips.kept} of {skips.total}" + (f", skipped {reasons}" if reasons else ""))
    fix = ("raise method.max_length, or set method.overlong=truncate" if skips.reasons[TOO_LONG]
           else "raise method.max_length" if skips.reasons[NOTHING_TRAINED]
           else "lower method.batch_size or method.eval_examples, or give more data")
    raise ConfigError(f"{kept} training {noun} are fewer than one batch of method.batch_size={settings.batch_size}; "
                      f"{tally}: {fix}")


def _reason(reason: str, count: int, settings: MethodSettings) -> str:
    if reason == TOO_LONG:
        return f"{count} longer than method.max_length={settings.max_length}"
    if reason == NOTHING_TRAINED:
        return f"{count} with no trained token left in method.max_length={settings.max_length}"
    return f"{count} {reason}"


def warn_small_held_out(kept: int, settings: MethodSettings, skipped: Counter[str], *, noun: str) -> str | None:
    """Warn (and return the warning) when fewer than ``method.eval_examples`` held-out examples are left: the
    examples are held out before they are checked, so the ``skipped`` ones (by reason) shrink the set."""
    if kept >= settings.eval_examples:
        return None
    reasons = ", ".join(_reason(reason, n, settings) for reason, n in sorted(skipped.items()))
    message = (f"only {kept} of method.eval_examples={settings.eval_examples} held-out {noun} are evaluated: "
               f"{sum(skipped.values())} were skipped ({reasons})")
    if not kept:
        message += "; no held-out evaluation will run"
    log.warning(message)
    return message
