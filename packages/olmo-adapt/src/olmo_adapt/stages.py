"""Pipeline stages ``sft`` (from the ``pretrain`` stage's checkpoint) and ``dpo`` (from ``sft``'s).

Their defaults train the pipeline's small model on the built-in sets in a minute or two each on 2 CPU cores;
``stages.sft.method.<option>=...`` and ``stages.dpo.method.<option>=...`` change them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olmo_core.pipeline.stage import StageContext
from olmo_core.plugins import get_host

from olmo_adapt.dpo.config import DPOConfig
from olmo_adapt.sft.config import SFTConfig

__all__ = ["DPOStage", "DPOStageConfig", "SFTStage", "SFTStageConfig", "sample_conversation"]

SAMPLE_PROMPT = "Give three tips for staying healthy."


@dataclass(kw_only=True)
class SFTStageConfig:
    """Options of the sft stage."""

    method: SFTConfig = field(default_factory=lambda: SFTConfig(max_steps=30, eval_interval=15))
    """The SFT settings (see ``olmo adapt sft --help``)."""
    save_interval: int = 15
    """Steps between checkpoints (a killed stage resumes from the newest)."""
    sample_prompt: str = SAMPLE_PROMPT
    """A message the tuned model answers in the report (at most 48 tokens); empty for none."""


@dataclass(kw_only=True)
class DPOStageConfig:
    """Options of the dpo stage."""

    method: DPOConfig = field(default_factory=lambda: DPOConfig(max_length=256, max_steps=16, eval_interval=8,
                                                                     max_examples=128))
    """The DPO settings (see ``olmo adapt dpo --help``)."""
    save_interval: int = 8
    """Steps between checkpoints."""
    sample_prompt: str = SAMPLE_PROMPT
    """A message the tuned model answers in the report (at most 48 tokens); empty for none."""


def _callbacks(save_interval: int) -> dict[str, Any]:
    from olmo_train.callbacks import DEFAULT_CALLBACKS

    registry = get_host().registry("callbacks")
    callbacks = {name: registry.resolve(name)[1] for name in DEFAULT_CALLBACKS}
    callbacks["checkpoint"].interval = save_interval
    return callbacks


def sample_conversation(checkpoint: str, prompt: str, *, max_new_tokens: int = 48) -> str:
    """``prompt`` and the checkpoint's answer (sampled with a fixed seed), as a markdown block for the report."""
    from olmo_core.model_io import load_model

    from olmo_adapt.chat import Chat, ChatConfig
    from olmo_adapt.checkpoints import resolve_tokenizer
    from olmo_adapt.template import TuluTemplate

    loaded = load_model(checkpoint)
    loaded.model.eval()
    chat = Chat(loaded.model, TuluTemplate(resolve_tokenizer(Path(checkpoint))),
                ChatConfig(checkpoint=checkpoint, max_new_tokens=max_new_tokens, temperature=0.8, top_p=0.95))
    answer = chat.say(prompt)
    return "\n".join(["Sample conversation (sampled: temperature 0.8, top-p 0.95, seed 0):", "", "```text", f"<|user|>\n{prompt}", "<|assistant|>",
                      answer or "(empty answer)", "```"])


def _run(method: Any, context: StageContext, *, start_from: str, save_interval: int, title: str,
         description: str, sample_prompt: str = "") -> dict[str, Any]:
    from olmo_adapt.report import run_section
    from olmo_adapt.runner import run_method

    checkpoint = context.result(start_from, "checkpoint")
    _, backend = get_host().registry("train_backends").resolve("single")
    result = run_method(method, checkpoint=checkpoint, name="train", runs_dir=context.stage_dir, backend=backend,
                        callbacks=_callbacks(save_interval), seed=context.seed)
    section, last = run_section(title, result.trainer, context.run_dir, description=description)
    metrics = {k.replace("/", "_"): v for k, v in last.items() if k == "loss" or "/" in k}
    if sample_prompt:
        section += "\n\n" + sample_conversation(str(result.checkpoint), sample_prompt)
    return {"checkpoint": str(result.checkpoint), "steps": result.trainer.step, **metrics, "report": section}


class SFTStage:
    """Supervised fine-tuning of the pretrained model on the built-in conversations."""

    def __init__(self, config: SFTStageConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        c = self.config.method
        from olmo_adapt.sft.method import SFT

        return _run(SFT(c), context, start_from="pretrain", save_interval=self.config.save_interval,
                    sample_prompt=self.config.sample_prompt,
                    title="Instruction tuning (SFT)",
                    description=f"Tulu chat template, loss on assistant turns only; data `{c.data}`, "
                                f"{c.max_length} tokens, lr {c.lr:g}, {c.batch_size} conversations per step.")


class DPOStage:
    """Direct preference optimization of the SFT model on the built-in pairs."""

    def __init__(self, config: DPOStageConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        c = self.config.method
        from olmo_adapt.dpo.method import DPO

        return _run(DPO(c), context, start_from="sft", save_interval=self.config.save_interval,
                    sample_prompt=self.config.sample_prompt,
                    title="Preference tuning (DPO)",
                    description=f"Loss `{c.loss}`, beta {c.beta:g}, reference = the SFT model (log-probs cached); "
                                f"data `{c.data}`, {c.max_length} tokens, lr {c.lr:g}, {c.batch_size} pairs per step.")
