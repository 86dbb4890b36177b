"""``olmo adapt sft``, ``olmo adapt dpo`` and ``olmo adapt method=<name>``: adapt a checkpoint into a chat model.

Each trains a registered adaptation method (``olmo_register_adapters``) from ``checkpoint`` on olmo-train's
trainer; ``method=<name>`` selects the method or one of its presets (``sft-olmo-7b``, ``dpo-olmo-7b`` ...) and
``method.<option>=...`` sets its options.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from olmo_core.config import NAME_KEY, REQUIRED, component, components
from olmo_core.errors import ConfigError
from olmo_core.plugins import get_host

from olmo_train.callbacks import DEFAULT_CALLBACKS

__all__ = ["AdaptConfig", "DPOCommandConfig", "SFTCommandConfig", "adapt_command", "dpo_command", "sft_command"]


@dataclass(kw_only=True)
class AdaptConfig:
    """Options of ``olmo adapt``."""

    name: str = "adapt"
    """Run name: the run directory is ``<runs_dir>/<name>``."""
    runs_dir: str = "runs"
    """Where run directories live."""
    checkpoint: str = REQUIRED
    """The checkpoint to adapt (a step directory with its tokenizer)."""
    method: Any = component("adapters", default="sft", help="adaptation method or preset: sft, dpo, ...")
    tokenizer: str | None = None
    """The tokenizer (default: the checkpoint's own; another one is refused)."""
    backend: Any = component("train_backends", default="single", help="where and how to train")
    callbacks: Any = components("callbacks", default=DEFAULT_CALLBACKS, help="what runs around each step")
    seed: int = 0
    """Seed of the data order."""
    threads: int | None = None
    """CPU threads for torch (default: torch's choice)."""


@dataclass(kw_only=True)
class SFTCommandConfig(AdaptConfig):
    """Options of ``olmo adapt sft``."""

    name: str = "sft"
    method: Any = component("adapters", default="sft", help="sft or one of its presets (sft-olmo-7b)")


@dataclass(kw_only=True)
class DPOCommandConfig(AdaptConfig):
    """Options of ``olmo adapt dpo``."""

    name: str = "dpo"
    method: Any = component("adapters", default="dpo", help="dpo or one of its presets (dpo-olmo-7b, dpo-tulu3)")


def adapt_command(config: AdaptConfig, *, expect: str | None = None) -> dict[str, Any]:
    """Adapt a checkpoint with the selected method: its data in the Tulu chat template, trained on olmo-train's
    trainer (checkpoints, exact resume, ``metrics.jsonl``, plots); the run ends with a checkpoint that
    ``olmo chat`` talks with."""
    from olmo_adapt.runner import run_method

    registry = get_host().registry("adapters")
    component_ = registry.component_of(config.method)
    if expect is not None and component_.name != expect:
        raise ConfigError(f"`olmo adapt {expect}` runs {expect} (or its presets), not '{component_.name}': use "
                          f"`olmo adapt method={component_.name}`")
    method = registry.build(config.method)
    result = run_method(method, checkpoint=config.checkpoint, name=config.name, runs_dir=config.runs_dir,
                        backend=config.backend, callbacks=config.callbacks, seed=config.seed, threads=config.threads,
                        tokenizer=config.tokenizer)
    trainer = result.trainer
    last = result.history[-1] if result.history else {}
    summary = {"run": str(trainer.run_dir), "method": getattr(config.method, NAME_KEY, component_.name),
               "steps": trainer.step, "checkpoint": str(result.checkpoint), **result.prepared.skips.as_dict(),
               **{k: v for k, v in last.items() if k == "loss" or "/" in k}}
    if trainer.is_main:
        shown = ", ".join(f"{k} {v:.4f}" for k, v in summary.items() if isinstance(v, float))
        print(f"{summary['method']}: {trainer.step} steps; {shown or 'already at its last step'}; "
              f"checkpoint {result.checkpoint}")
    return summary


def sft_command(config: SFTCommandConfig) -> dict[str, Any]:
    """Supervised fine-tuning: loss on assistant turns only, built-in Alpaca set or your messages file."""
    return adapt_command(config, expect="sft")


def dpo_command(config: DPOCommandConfig) -> dict[str, Any]:
    """Direct preference optimization (dpo, dpo_norm, ipo) with cached reference log-probabilities."""
    return adapt_command(config, expect="dpo")
