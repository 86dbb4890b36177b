"""``olmo chat``: talk with a chat model in the Tulu template: an olmo checkpoint, a run directory (its newest
checkpoint) or a transformers directory.

With ``prompt=<text>`` it answers once and exits; otherwise it reads one user turn per line from stdin and
keeps the conversation's history (``/reset`` forgets it, ``/exit`` or end of input stops). Each answer is
generated after ``<|assistant|>\\n`` until the model writes EOS (greedy unless ``temperature`` > 0), and is kept
in the history as the template writes it. The oldest turns are dropped when the conversation no longer fits.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any

from olmo_core.config import REQUIRED, non_negative, positive
from olmo_core.errors import ConfigError
from olmo_core.model_commands import load_causal_lm
from olmo_core.nn.config import context_length

from olmo_core.chat_template import TuluTemplate

__all__ = ["ChatConfig", "Chat", "chat_command"]


@dataclass(kw_only=True)
class ChatConfig:
    """Options of ``olmo chat``."""

    checkpoint: str = REQUIRED
    """A chat model with its tokenizer: an ``olmo adapt sft`` or ``dpo`` checkpoint or run directory, or a
    transformers directory."""
    prompt: str | None = None
    """Answer this one message and exit (default: read turns from stdin)."""
    system: str | None = None
    """A system message opening the conversation."""
    max_new_tokens: int = positive(256)
    """Most tokens of one answer."""
    temperature: float = non_negative(0.0)
    """0: greedy; above 0: sample at this temperature."""
    top_p: float = positive(1.0)
    """Nucleus sampling: sample from the smallest set of tokens whose probability reaches top_p."""
    seed: int = non_negative(0)
    """Seed of the sampler."""


class Chat:
    """A conversation with a model: :meth:`say` adds a user turn and returns the model's answer."""

    def __init__(self, model: Any, template: TuluTemplate, config: ChatConfig) -> None:
        import torch

        self.model, self.template, self.config = model, template, config
        self.generator = torch.Generator().manual_seed(config.seed)
        self.history: list[dict[str, str]] = []
        self.reset()

    def reset(self) -> None:
        """Forget every turn (the system message stays)."""
        self.history = [{"role": "system", "content": self.config.system}] if self.config.system else []

    def _prompt_ids(self) -> list[int]:
        limit = context_length(self.model) - self.config.max_new_tokens
        while True:
            ids = self.template.encode(self.history, add_generation_prompt=True).ids
            first = 1 if self.history and self.history[0]["role"] == "system" else 0
            if len(ids) <= limit or len(self.history) - first <= 1:
                return ids[-limit:] if len(ids) > limit else ids
            del self.history[first:first + 2]

    def say(self, text: str) -> str:
        """The model's answer to ``text``, with the conversation so far as context."""
        import torch

        from olmo_core.nn.generate import generate

        self.history.append({"role": "user", "content": text})
        ids = torch.tensor([self._prompt_ids()], dtype=torch.long)
        eos = self.template.eos_id
        out = generate(self.model, ids, max_new_tokens=self.config.max_new_tokens, temperature=self.config.temperature,
                       top_p=self.config.top_p, eos_token_id=eos, generator=self.generator)[0, ids.shape[1]:].tolist()
        answer = self.template.tokenizer.decode(out[: out.index(eos)] if eos in out else out).strip()
        self.history.append({"role": "assistant", "content": answer or "..."})
        return answer


def converse(chat: Chat, lines: Iterable[str], out: IO[str]) -> int:
    """Answer each line of ``lines`` in turn; return the number of answers."""
    answers = 0
    for line in lines:
        text = line.strip()
        if text == "/exit":
            break
        if text == "/reset":
            chat.reset()
            print("(history cleared)", file=out, flush=True)
        elif text:
            print(f"assistant: {chat.say(text)}", file=out, flush=True)
            answers += 1
    return answers


def chat_command(config: ChatConfig) -> str | int:
    """Talk with a chat checkpoint: ``prompt=<text>`` for one answer, or turns from stdin with history."""
    if config.temperature < 0 or not 0 < config.top_p <= 1:
        raise ConfigError("chat needs temperature >= 0 and 0 < top_p <= 1")
    model, tokenizer = load_causal_lm(config.checkpoint)
    longest = context_length(model)
    if not 0 < config.max_new_tokens < longest:
        raise ConfigError(f"max_new_tokens must be between 1 and {longest - 1} (the model reads {longest} tokens)")
    chat = Chat(model, TuluTemplate(tokenizer), config)
    if config.prompt is not None:
        answer = chat.say(config.prompt)
        print(answer)
        return answer
    if sys.stdin.isatty():
        print("chat with the model: one message per line; /reset clears the history, /exit or Ctrl-D ends",
              flush=True)
    return converse(chat, sys.stdin, sys.stdout)
