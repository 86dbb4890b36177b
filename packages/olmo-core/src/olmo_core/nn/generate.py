"""Text generation from an :class:`~olmo_core.nn.model.OLMo`, or any model called as ``model(input_ids) ->
logits`` with a ``config.vocab_size``: greedy or nucleus (top-p) sampling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from olmo_core.nn.model import OLMo

__all__ = ["generate", "sample_next"]


@torch.no_grad()
def generate(model: Any, input_ids: torch.Tensor, *, max_new_tokens: int, temperature: float = 0.0, top_p: float = 1.0,
             eos_token_id: int | None = None, use_cache: bool = True, generator: torch.Generator | None = None,
             stop: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
    """Continue every prompt of ``input_ids`` ``(batch, prompt)`` and return ``(batch, prompt + new)`` tokens.

    All prompts have the same length (no padding). ``temperature=0`` picks the most likely token; otherwise
    tokens are sampled from the softmax at ``temperature``, restricted to the smallest set of tokens whose
    probability reaches ``top_p``, drawing from ``generator`` (seed it for reproducible samples). The padded
    embedding rows beyond ``config.vocab_size`` are never chosen. A row that produced ``eos_token_id`` is
    filled with ``config.pad_token_id`` afterwards, and generation stops early once every row has; so
    ``new <= max_new_tokens``. ``use_cache=False`` re-runs the whole sequence at every step (for checking
    the cache; always so for models other than OLMo). ``stop``, when given, is called after every step with
    the tokens generated so far ``(batch, new)`` and returns which rows are done (a stop text was written); it
    ends rows as EOS does.
    """
    if max_new_tokens < 0 or temperature < 0 or not 0 < top_p <= 1:
        raise ValueError("need max_new_tokens >= 0, temperature >= 0 and 0 < top_p <= 1")
    config = model.config
    use_cache = use_cache and isinstance(model, OLMo)
    pad = config.pad_token_id if config.pad_token_id is not None else (eos_token_id or 0)
    tokens = input_ids
    done = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
    cache = None
    for _ in range(max_new_tokens):
        if use_cache:
            step_input = tokens if cache is None else tokens[:, -1:]
            logits, cache = model(step_input, past_key_values=cache, use_cache=True)
        else:
            logits = model(tokens)
        logits = logits[:, -1, : config.vocab_size].float()
        next_token = sample_next(logits, temperature=temperature, top_p=top_p, generator=generator)
        next_token = next_token.masked_fill(done, pad)
        tokens = torch.cat((tokens, next_token[:, None]), dim=1)
        if eos_token_id is not None:
            done |= next_token == eos_token_id
        if stop is not None:
            done |= stop(tokens[:, input_ids.shape[1]:])
        if bool(done.all()):
            break
    return tokens


def sample_next(logits: torch.Tensor, *, temperature: float, top_p: float,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """One token per row of ``logits`` ``(batch, vocab)``: the argmax when ``temperature`` is 0, else a draw
    from the top-``top_p`` nucleus of ``softmax(logits / temperature)``."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1:
        sorted_probs, order = probs.sort(dim=-1, descending=True)
        outside = sorted_probs.cumsum(dim=-1) - sorted_probs >= top_p  # the top token always stays
        probs = probs.scatter(-1, order, sorted_probs.masked_fill(outside, 0.0))
    return torch.multinomial(probs, 1, generator=generator)[:, 0]
