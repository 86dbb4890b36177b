"""The Tulu chat template (open-instruct's ``tulu`` template with a leading BOS), rendered and tokenized.

A conversation is a list of messages ``{"role": "system" | "user" | "assistant", "content": str}``::

    <bos><|system|>\\n{system}\\n<|user|>\\n{user}\\n<|assistant|>\\n{answer}<eos>\\n<|user|>\\n...

- BOS is the tokenizer's EOS token (OLMo's tokenizers have no separate BOS: ``<|endoftext|>``, id 50279 in
  ``olmo-v1.5``); it opens every conversation.
- ``<|system|>``, ``<|user|>`` and ``<|assistant|>`` are plain text, not vocabulary entries: in ``olmo-v1.5``
  ``<|user|>`` is the four tokens ``<``, ``|``, ``user``, ``|>``. Only EOS is a control token.
- EOS (the token id, never text) ends each assistant turn; a ``\\n`` follows it when another message comes.
- Each message's content is stripped of surrounding whitespace (as OLMo's SFT data were) and encoded on its
  own with special tokens treated as text, so that a message containing the string ``<|endoftext|>`` cannot end
  a turn, and every token belongs to exactly one piece of the template.
- Training targets are the assistant contents and their EOS; headers, user and system turns, BOS and the
  ``\\n`` after an EOS are context only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from olmo_core.errors import ConfigError
from olmo_core.tokenizer import Tokenizer

__all__ = ["ROLES", "TULU_CHAT_TEMPLATE", "EncodedConversation", "TuluTemplate"]

ROLES = ("system", "user", "assistant")
Message = dict[str, Any]

TULU_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{{ '<|' + message['role'] + '|>\\n' + (message['content'] | trim) }}"
    "{% if message['role'] == 'assistant' %}{{ eos_token }}{% endif %}"
    "{% if not loop.last or message['role'] != 'assistant' %}{{ '\\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}")
"""Jinja for transformers' ``apply_chat_template``: renders what :class:`TuluTemplate` renders."""


@dataclass(kw_only=True)
class EncodedConversation:
    """Token ids of a rendered conversation and which of them are trained."""

    ids: list[int]
    trained: list[bool]
    """``trained[t]``: token ``t`` is a training target (assistant content or the EOS that ends it)."""
    spans: list[tuple[int, int]] = field(default_factory=list)
    """Per message, the ``[start, end)`` token range of its content (plus EOS for assistant turns)."""


def _text(message: Message, index: int) -> str:
    content = message["content"]
    if not isinstance(content, str):
        raise ConfigError(f"message {index + 1} ({message['role']}): content must be text, not "
                          f"{type(content).__name__} (give 'content' as a string)")
    return content.strip()


class TuluTemplate:
    """Renders and tokenizes conversations in the Tulu format for one tokenizer."""

    name = "tulu"
    headers = {role: f"<|{role}|>\n" for role in ROLES}

    def __init__(self, tokenizer: Tokenizer) -> None:
        self.tokenizer = tokenizer
        self.eos_id = tokenizer.eos_token_id
        self.bos_id = tokenizer.eos_token_id
        from tokenizers import Tokenizer as HFTokenizer  # loaded with the first tokenizer (olmo_core.tokenizer)

        self._text = HFTokenizer.from_str(tokenizer.json_text)
        self._text.encode_special_tokens = True
        self._pieces = {text: self._encode(text) for text in (*self.headers.values(), "\n")}

    def _encode(self, text: str) -> list[int]:
        return list(self._text.encode(text, add_special_tokens=False).ids)

    def render(self, messages: Sequence[Message], *, add_generation_prompt: bool = False) -> str:
        """The conversation as text (BOS and EOS written as the tokenizer's EOS token)."""
        eos = self.tokenizer.eos_token
        parts = [eos]
        for i, message in enumerate(messages):
            content = _text(message, i)
            parts.append(self.headers[message["role"]] + content)
            if message["role"] == "assistant":
                parts.append(eos)
            if i + 1 < len(messages) or message["role"] != "assistant":
                parts.append("\n")
        if add_generation_prompt:
            parts.append(self.headers["assistant"])
        return "".join(parts)

    def encode(self, messages: Sequence[Message], *, add_generation_prompt: bool = False) -> EncodedConversation:
        """Token ids of :meth:`render`'s text, with the trained positions and each message's span."""
        ids, trained, spans = [self.bos_id], [False], []
        for i, message in enumerate(messages):
            role = message["role"]
            header = self._pieces[self.headers[role]]
            ids += header
            trained += [False] * len(header)
            content = self._encode(_text(message, i))
            start = len(ids)
            if role == "assistant":
                content = [*content, self.eos_id]
            ids += content
            trained += [role == "assistant"] * len(content)
            spans.append((start, len(ids)))
            if i + 1 < len(messages) or role != "assistant":
                ids += self._pieces["\n"]
                trained += [False] * len(self._pieces["\n"])
        if add_generation_prompt:
            header = self._pieces[self.headers["assistant"]]
            ids += header
            trained += [False] * len(header)
        return EncodedConversation(ids=ids, trained=trained, spans=spans)
