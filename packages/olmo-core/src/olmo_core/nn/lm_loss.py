"""Next-token cross-entropy straight from the final hidden states, without the full logits.

The LM head of a small model is most of its training step: a ``(tokens, vocabulary)`` fp32 logits tensor
(2048 x 50,304 floats is 412 MB) is written by the head's matmul, read and written again by the
log-softmax, its gradient and their copies. :func:`linear_cross_entropy` instead walks the labelled tokens
in chunks of ``chunk_tokens`` rows: for each chunk it computes the logits, their exponentials (in place, once:
the log-sum-exp comes from their row sums), the loss terms and, when gradients are wanted, the chunk's
gradient with respect to the hidden states and its share of the head's weight gradient, reusing one
chunk-sized buffer. The softmax's normalization and the target's ``-1`` are applied to the small operands
(hidden states, head rows), not to the logits. The backward pass only scales those gradients. Unlabelled
positions (``IGNORE``) cost nothing.

Values equal ``F.cross_entropy(hidden @ weight.T, labels, reduction="sum")`` to float rounding (summation
order differs); the z-loss term is ``sum(logsumexp(logits)^2)`` over labelled tokens, as in OLMo.

:func:`linear_label_logps` gives the log-probability of each label instead (what DPO sums per sequence); as
its gradient depends on how those values are combined, its backward pass recomputes each chunk's logits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import torch

__all__ = ["IGNORE", "LMLossSums", "linear_cross_entropy", "linear_label_logps"]

IGNORE = -100
"""The label of a position that is not predicted (padding, prompts, the last position)."""

DEFAULT_CHUNK_TOKENS = 256


class LMLossSums(NamedTuple):
    """Summed loss terms over the labelled tokens of a batch.

    ``total`` (``ce + z_loss * z``) carries the gradient; ``ce`` and ``z`` are detached, for metrics
    (``z`` is ``None`` without z-loss). Divide by the labelled-token count you normalize by.
    """

    total: torch.Tensor
    ce: torch.Tensor
    z: torch.Tensor | None


def linear_cross_entropy(hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, *,
                         z_loss: float = 0.0, chunk_tokens: int = DEFAULT_CHUNK_TOKENS) -> LMLossSums:
    """Summed cross-entropy (and z-loss) of ``labels`` under the logits ``hidden @ weight.T``.

    :param hidden: ``(..., d_model)`` final (normalized) hidden states.
    :param weight: ``(vocabulary, d_model)`` LM head.
    :param labels: ``hidden.shape[:-1]`` target ids, ``IGNORE`` where nothing is predicted.
    :param z_loss: multiplier of the z-loss term in ``total``.
    :param chunk_tokens: rows of logits materialized at a time.

    Under autocast the matmuls run in the autocast dtype and the softmax in fp32, as the plain head would.
    """
    _check(hidden, labels, chunk_tokens)
    total, ce, z = _LinearCrossEntropy.apply(hidden, weight, labels, float(z_loss), int(chunk_tokens))
    return LMLossSums(total, ce, z if z_loss else None)


def _check(hidden: torch.Tensor, labels: torch.Tensor, chunk_tokens: int) -> None:
    if hidden.shape[:-1] != labels.shape:
        raise ValueError(f"labels {tuple(labels.shape)} do not match hidden states {tuple(hidden.shape)}")
    if chunk_tokens < 1:
        raise ValueError(f"chunk_tokens must be at least 1, not {chunk_tokens}")


def _labelled(hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.dtype, torch.dtype]:
    """``(flat indices of the labelled positions, their hidden states, their labels, the head, matmul dtype,
    softmax dtype)``: matmuls in the autocast dtype when autocast is on, the softmax in fp32 at least."""
    device = hidden.device
    dtype = torch.get_autocast_dtype(device.type) if torch.is_autocast_enabled(device.type) else hidden.dtype
    flat_labels = labels.reshape(-1)
    rows = (flat_labels != IGNORE).nonzero().squeeze(1)
    h = hidden.reshape(-1, hidden.shape[-1]).index_select(0, rows).to(dtype)
    acc = torch.promote_types(dtype, torch.float32)
    return rows, h, flat_labels.index_select(0, rows), weight.to(dtype), dtype, acc


class _LinearCrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, z_loss: float,
                chunk_tokens: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        want_hidden, want_weight = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        rows, h, targets, w, dtype, acc = _labelled(hidden, weight, labels)
        with torch.autocast(hidden.device.type, enabled=False):
            ce = torch.zeros((), dtype=acc, device=hidden.device)
            z = torch.zeros_like(ce)
            grad_h = torch.empty_like(h) if want_hidden else None
            # the head's gradient transposed, (d_model, vocabulary): the faster sgemm orientation for logits.T @ h
            grad_wt = _take_buffer(w.shape[::-1], acc, w.device) if want_weight else None
            bound = _logit_bound(h, w, acc)
            for start, stop, logits in _chunk_logits(h, w, chunk_tokens):
                chunk, t = h[start:stop], targets[start:stop]
                index = torch.arange(stop - start, device=h.device)
                target_logits = logits[index, t].to(acc)
                exps, shift = _shifted_exp_(logits, acc, bound[start:stop])
                sums = exps.sum(1)
                lse = sums.log().add_(shift)
                ce += (lse - target_logits).sum()
                if z_loss:
                    z += lse.pow(2).sum()
                if grad_h is None and grad_wt is None:
                    continue
                # d total / d logits = softmax * (1 + 2 z_loss lse) - onehot(target); softmax = exps / sums
                scale = (1 + 2 * z_loss * lse).div_(sums) if z_loss else sums.reciprocal()
                _chunk_grads(exps, scale, t, chunk, w, dtype,
                             grad_h[start:stop] if grad_h is not None else None, grad_wt, start == 0)
            if grad_wt is not None and not len(h):
                grad_wt.zero_()
            # the onehot term, which _chunk_grads leaves out in the softmax dtype: here for the hidden states, in the
            # backward pass (on the head's gradient in its own layout) for the head
            onehot = dtype == acc
            if onehot and grad_h is not None:
                grad_h -= w.index_select(0, targets)
            total = ce + z_loss * z
        ctx.mark_non_differentiable(ce, z)
        ctx.shapes = hidden.shape, hidden.dtype, weight.dtype
        empty = h.new_empty(0)
        ctx.save_for_backward(rows, grad_h if grad_h is not None else empty, grad_wt if grad_wt is not None else empty,
                              h if onehot and grad_wt is not None else empty, targets)
        return total, ce, z

    @staticmethod
    def backward(ctx: Any, grad_total: torch.Tensor, *_: Any) -> tuple[torch.Tensor | None, ...]:
        rows, grad_h, grad_wt, h, targets = ctx.saved_tensors
        shape, hidden_dtype, weight_dtype = ctx.shapes
        grad_hidden = grad_weight = None
        if ctx.needs_input_grad[0]:
            grad_hidden = _scatter_rows(grad_h * grad_total, rows, shape, hidden_dtype)
        if ctx.needs_input_grad[1]:  # transposed back and scaled in one pass
            grad_weight = torch.empty(grad_wt.shape[::-1], dtype=weight_dtype, device=grad_wt.device)
            torch.mul(grad_wt.t(), grad_total, out=grad_weight)
            if len(h):
                grad_weight.index_add_(0, targets, (h * -grad_total).to(weight_dtype))
            _give_back(grad_wt)  # a later call's writes would fail autograd's version check of a retained graph
        return grad_hidden, grad_weight, None, None, None


def linear_label_logps(hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor, *,
                       chunk_tokens: int = DEFAULT_CHUNK_TOKENS) -> torch.Tensor:
    """``log p(labels)`` under the logits ``hidden @ weight.T``, shaped like ``labels`` (0 where ``IGNORE``).

    Differentiable with respect to ``hidden`` and ``weight``; only labelled positions are computed, in fp32 at
    least (float64 for float64 inputs), ``chunk_tokens`` rows of logits at a time.
    """
    _check(hidden, labels, chunk_tokens)
    return _LinearLabelLogps.apply(hidden, weight, labels, int(chunk_tokens))


class _LinearLabelLogps(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor,
                chunk_tokens: int) -> torch.Tensor:
        rows, h, targets, w, dtype, acc = _labelled(hidden, weight, labels)
        with torch.autocast(hidden.device.type, enabled=False):
            picked = torch.empty(len(rows), dtype=acc, device=h.device)
            lse = torch.empty_like(picked)
            for start, stop, logits in _chunk_logits(h, w, chunk_tokens):
                index = torch.arange(stop - start, device=h.device)
                logits = logits.to(acc)
                target_logits = logits[index, targets[start:stop]]
                lse[start:stop] = torch.logsumexp(logits, dim=1)
                picked[start:stop] = target_logits - lse[start:stop]
            out = torch.zeros(labels.numel(), dtype=acc, device=h.device).index_copy_(0, rows, picked)
        ctx.chunk_tokens, ctx.dtype = chunk_tokens, dtype
        ctx.shapes = hidden.shape, hidden.dtype, weight.dtype
        ctx.save_for_backward(h, weight, targets, lse, rows)
        return out.view(labels.shape)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        h, weight, targets, lse, rows = ctx.saved_tensors
        shape, hidden_dtype, weight_dtype = ctx.shapes
        acc = lse.dtype
        w = weight.to(ctx.dtype)
        g = grad_out.reshape(-1).index_select(0, rows).to(acc)
        grad_h = torch.empty_like(h) if ctx.needs_input_grad[0] else None
        grad_w = torch.zeros(w.shape, dtype=acc, device=w.device) if ctx.needs_input_grad[1] else None
        for start, stop, logits in _chunk_logits(h, w, ctx.chunk_tokens):
            index = torch.arange(stop - start, device=h.device)
            # d log p(t) / d logits = onehot(t) - softmax
            grad = logits.to(acc).sub_(lse[start:stop, None]).exp_().mul_(-g[start:stop, None])
            grad[index, targets[start:stop]] += g[start:stop]
            grad = grad.to(ctx.dtype)
            if grad_h is not None:
                torch.mm(grad, w, out=grad_h[start:stop])
            if grad_w is not None:
                _add_weight_grad(grad_w, grad, h[start:stop])
        grad_hidden = grad_weight = None
        if grad_h is not None:
            grad_hidden = _scatter_rows(grad_h, rows, shape, hidden_dtype)
        if grad_w is not None:
            grad_weight = grad_w.to(weight_dtype)
        return grad_hidden, grad_weight, None, None


SAFE_LOGIT = 30.0
"""Below this bound on every ``|logit|`` of a row, ``exp(logit)`` needs no shift by the row's maximum: the
exponentials, their sum and the gradient matmuls stay well inside the normal fp32 range."""


def _logit_bound(h: torch.Tensor, w: torch.Tensor, acc: torch.dtype) -> torch.Tensor:
    """An upper bound on each row's ``|h @ w.T|`` (Cauchy-Schwarz: the row's norm times the largest head row's)."""
    if not len(h) or not len(w):
        return h.new_zeros(len(h), dtype=acc)
    norms = torch.linalg.vector_norm(h, dim=1, dtype=acc)
    return norms * torch.linalg.vector_norm(w, dim=1, dtype=acc).amax()


def _shifted_exp_(logits: torch.Tensor, acc: torch.dtype, bound: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(exp(logits - shift), shift)`` in ``acc``, written over ``logits`` (or over its ``acc`` copy): one
    exponential per logit. ``shift`` is 0 where ``bound`` says the logits are small, else each row's maximum."""
    logits = logits.to(acc)
    if bool((bound <= SAFE_LOGIT).all()):
        shift = torch.zeros(len(logits), dtype=acc, device=logits.device)
    else:
        shift = torch.where(bound <= SAFE_LOGIT, 0.0, logits.amax(1))
        logits.sub_(shift[:, None])
    return logits.exp_(), shift


def _chunk_grads(exps: torch.Tensor, scale: torch.Tensor, targets: torch.Tensor, h: torch.Tensor, w: torch.Tensor,
                 dtype: torch.dtype, grad_h: torch.Tensor | None, grad_wt: torch.Tensor | None, first: bool) -> None:
    """A chunk's gradients from ``d logits = exps * scale[:, None] - onehot(targets)``: ``grad_h`` written,
    ``grad_wt`` (the head's, transposed) accumulated (overwritten for the ``first`` chunk).

    In the softmax dtype the row scale goes on the small operands instead of ``exps`` and the onehot term is left
    to the caller (``-w[targets]``, ``-h`` into the targets' columns): no pass over the logits. Otherwise the
    gradient is formed in ``exps`` and cast to the matmul dtype, as the plain head's would be.
    """
    if exps.dtype == dtype:
        if grad_h is not None:
            torch.mm(exps, w, out=grad_h).mul_(scale[:, None])
        if grad_wt is not None:
            grad_wt.addmm_((h * scale[:, None]).t(), exps, beta=0 if first else 1)
        return
    grad = exps.mul_(scale[:, None])
    grad[torch.arange(len(grad), device=grad.device), targets] -= 1
    grad = grad.to(dtype)
    if grad_h is not None:
        torch.mm(grad, w, out=grad_h)
    if grad_wt is not None:
        chunk_wt = torch.mm(h.t(), grad).to(grad_wt.dtype)
        if first:
            grad_wt.copy_(chunk_wt)
        else:
            grad_wt += chunk_wt


def _chunk_logits(h: torch.Tensor, w: torch.Tensor, chunk_tokens: int) -> Iterator[tuple[int, int, torch.Tensor]]:
    """``(start, stop, logits of rows start:stop)`` over ``h``, reusing one buffer (see :func:`_workspace`)."""
    size = min(chunk_tokens, max(len(h), 1))
    buffer = _workspace(size * w.shape[0], h.dtype, h.device).view(size, w.shape[0])
    for start in range(0, len(h), size):
        stop = min(start + size, len(h))
        yield start, stop, torch.mm(h[start:stop], w.t(), out=buffer[:stop - start])


_KEPT = threading.local()


def _workspace(numel: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A flat buffer of ``numel`` elements for the chunk logits. On the CPU one per thread and dtype is kept between
    calls (the largest asked for): a fresh chunk buffer (51 MB at 256 x 50,304 fp32) comes from new pages of the
    operating system at every step, whose faults cost as much as a pass over it. Its contents never leave a call."""
    if device.type != "cpu":
        return torch.empty(numel, dtype=dtype, device=device)
    kept: dict[torch.dtype, torch.Tensor] = _KEPT.__dict__.setdefault("buffers", {})
    buffer = kept.get(dtype)
    # one made under inference mode cannot be written outside it
    if buffer is None or buffer.numel() < numel or (buffer.is_inference() and not torch.is_inference_mode_enabled()):
        buffer = kept[dtype] = torch.empty(numel, dtype=dtype, device=device)
    return buffer[:numel]


def _take_buffer(shape: torch.Size, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """An uninitialized tensor for the head's gradient: on the CPU the one a finished backward pass of this thread
    gave back (:func:`_give_back`) when its shape and dtype fit (saving the page faults of 25 MB of new memory
    every step), else a new one. Taken buffers leave the pool until given back."""
    if device.type == "cpu":
        pool: dict[tuple[torch.Size, torch.dtype], torch.Tensor] = _KEPT.__dict__.setdefault("grads", {})
        kept = pool.pop((torch.Size(shape), dtype), None)
        if kept is not None:
            return kept
    return torch.empty(shape, dtype=dtype, device=device)


def _give_back(buffer: torch.Tensor) -> None:
    """Return a buffer from :func:`_take_buffer` whose contents are no longer needed."""
    if buffer.device.type == "cpu":
        _KEPT.__dict__.setdefault("grads", {})[(buffer.shape, buffer.dtype)] = buffer


def _add_weight_grad(grad_w: torch.Tensor, grad_logits: torch.Tensor, h: torch.Tensor) -> None:
    """``grad_w += grad_logits.T @ h``, accumulated in ``grad_w``'s (wider) dtype."""
    if grad_logits.dtype == grad_w.dtype:
        grad_w.addmm_(grad_logits.t(), h)
    else:
        grad_w += torch.mm(grad_logits.t(), h).to(grad_w.dtype)


def _scatter_rows(values: torch.Tensor, rows: torch.Tensor, shape: torch.Size, dtype: torch.dtype) -> torch.Tensor:
    """A zero tensor of ``shape`` whose flattened rows ``rows`` hold ``values``."""
    flat = torch.zeros(shape[:-1].numel(), shape[-1], dtype=dtype, device=values.device)
    return flat.index_copy_(0, rows, values.to(dtype)).view(shape)
