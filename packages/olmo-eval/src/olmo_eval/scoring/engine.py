"""Running rows through a model and reading the log-probabilities of their targets.

An :class:`~olmo_core.nn.model.OLMo` (unwrapped from DDP or ``torch.compile`` if needed) runs the fast
path through its public seam (:meth:`~olmo_core.nn.model.OLMo.hidden_states`, then
:meth:`~olmo_core.nn.model.OLMo.logits`): rows with several segments get a segment mask and per-token
positions, and the LM head is applied only at the positions whose predictions are read, so the vocabulary
projection costs one row per target instead of one per token. Any other model (an FSDP-sharded one, a
third party's architecture) is called as ``model(input_ids) -> logits``; it can only score rows without
segments.

Log-probabilities are ``logit - max - log(sum(exp(logits - max)))`` with the exponentials summed in float64:
a float32 log-softmax over 50k logits is off by up to ~1e-5 per token, which a long continuation adds up.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from olmo_core.nn import unwrap_model
from olmo_core.nn.model import OLMo
from olmo_core.progress import Progress

from olmo_eval.scoring.rows import Row, batches

__all__ = ["Scored", "fast_model", "score_rows"]

_CHUNK = 1024  # targets per vocabulary projection: bounds the logits held at once
Scored = tuple[list[float], list[bool]]
"""Per row: the log-probability of each target and whether it was the most likely token (greedy)."""


def fast_model(model: Any) -> OLMo | None:
    """The plain :class:`OLMo` behind ``model`` (:func:`~olmo_core.nn.unwrap_model`), or ``None`` when the
    fast path does not apply (for example FSDP, whose parameters are sharded)."""
    inner = unwrap_model(model)
    return inner if type(inner) is OLMo else None


def _mask(segments: torch.Tensor) -> torch.Tensor:
    seq = segments.shape[1]
    causal = torch.ones(seq, seq, dtype=torch.bool, device=segments.device).tril()
    visible = (segments[:, None, :] == 0) | (segments[:, None, :] == segments[:, :, None])
    return (causal & visible)[:, None]


def _pad(rows: Sequence[Row], pad_id: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    longest = max(len(r.tokens) for r in rows)
    tokens = torch.full((len(rows), longest), pad_id, dtype=torch.long)
    positions = torch.zeros((len(rows), longest), dtype=torch.long)
    segments = torch.full((len(rows), longest), -1, dtype=torch.long)
    for i, row in enumerate(rows):
        n = len(row.tokens)
        tokens[i, :n] = torch.tensor(row.tokens)
        positions[i, :n] = torch.tensor(row.positions)
        segments[i, :n] = torch.tensor(row.segments)
    return tokens.to(device), positions.to(device), segments.to(device)


@torch.no_grad()
def _score_batch(model: Any, olmo: OLMo | None, rows: Sequence[Row], pad_id: int, device: torch.device) -> list[Scored]:
    tokens, positions, segments = _pad(rows, pad_id, device)
    batch_index = torch.tensor([i for i, r in enumerate(rows) for _ in r.predictors], device=device)
    predictor = torch.tensor([p for r in rows for p in r.predictors], device=device)
    targets = torch.tensor([t for r in rows for t in r.targets], device=device)
    if olmo is not None:
        shared = any(r.shared for r in rows)
        plain = not shared and all(r.positions == list(range(len(r.tokens))) for r in rows)
        hidden = olmo.hidden_states(tokens, positions=None if plain else positions,
                                    attention_mask=_mask(segments) if shared else None)
        picked = hidden[batch_index, predictor]

        def logits_of(part: slice) -> torch.Tensor:
            return olmo.logits(picked[part])
    else:
        if any(r.shared or r.positions != list(range(len(r.tokens))) for r in rows):
            raise ValueError("this model only scores plain causal rows: disable shared_prefix")
        output = model(tokens)
        full = (output.logits if hasattr(output, "logits") else output)[batch_index, predictor]

        def logits_of(part: slice) -> torch.Tensor:
            return full[part]
    chosen: list[float] = []
    greedy: list[bool] = []
    for first in range(0, len(targets), _CHUNK):
        part = slice(first, first + _CHUNK)
        logits = logits_of(part).float()
        best = logits.max(dim=-1).values
        target = logits.gather(1, targets[part][:, None])[:, 0]
        total = torch.exp(logits - best[:, None]).sum(dim=-1, dtype=torch.float64)
        chosen += ((target - best).double() - torch.log(total)).cpu().tolist()
        greedy += (target >= best).cpu().tolist()
    out: list[Scored] = []
    start = 0
    for row in rows:
        end = start + len(row.targets)
        out.append((chosen[start:end], greedy[start:end]))
        start = end
    return out


def score_rows(model: Any, rows: Sequence[Row], *, pad_id: int, batch_tokens: int = 8192, max_batch_size: int = 64,
               progress: str | None = None) -> list[Scored]:
    """Log-probabilities and greedy flags of every row's targets, in the order of ``rows``.

    Rows are run longest first in batches of at most ``max_batch_size`` rows and ``batch_tokens`` padded
    tokens; padding goes at the right end of a row, where no scored token can see it. ``progress`` names a
    progress line (none when ``None``). The model is switched to eval mode for the call and restored.
    """
    olmo = fast_model(model)
    device = next(model.parameters()).device
    results: list[Scored | None] = [None] * len(rows)
    was_training = model.training
    model.eval()
    try:
        with Progress(progress or "", total=len(rows), unit="rows", stream=None) if progress else _Silent() as bar:
            for batch in batches(rows, batch_tokens=batch_tokens, max_batch_size=max_batch_size):
                for index, scored in zip(batch, _score_batch(model, olmo, [rows[i] for i in batch], pad_id, device)):
                    results[index] = scored
                bar.advance(len(batch))
    finally:
        model.train(was_training)
    return [r for r in results if r is not None]


class _Silent:
    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def advance(self, n: int = 1) -> None:
        pass
