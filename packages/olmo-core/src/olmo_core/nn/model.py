"""The OLMo decoder in one file: embedding, blocks of attention and SwiGLU MLP, final norm, LM head.

Parameter names follow OLMo's (``transformer.wte``, ``transformer.blocks.{i}.att_proj`` ...), so that
checkpoints and converters line up with the original code. A block is either OLMo-1's pre-norm block
(non-parametric LayerNorm) or OLMo-2's reordered-norm block (RMSNorm on what attention and the MLP add to
the residual stream, plus QK-norm); :class:`~olmo_core.nn.config.OLMoConfig` selects which.

The key/value cache is a list with one ``(keys, values)`` pair per block, each ``(batch, kv_heads, length,
head_dim)`` with RoPE already applied; :meth:`OLMo.forward` returns a new list that holds the new tokens too.

Code outside this package uses the model only through its public methods: :meth:`OLMo.forward` (logits, a
loss, or label log-probabilities) and, for scorers that pick positions or pack rows themselves,
:meth:`OLMo.hidden_states` and :meth:`OLMo.logits` (``forward`` is the two composed).
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from olmo_core.nn.config import OLMoConfig
from olmo_core.nn.lm_loss import LMLossSums, linear_cross_entropy, linear_label_logps

__all__ = ["KVCache", "OLMo", "OLMoBlock"]

Pair = tuple[torch.Tensor, torch.Tensor]
KVCache = list[Pair]


class LayerNorm(nn.Module):
    """Non-parametric LayerNorm (OLMo-1), computed in fp32."""

    def __init__(self, size: int, eps: float) -> None:
        super().__init__()
        self.size, self.eps = size, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x.float(), (self.size,), eps=self.eps).type_as(x)

    def reset_parameters(self) -> None:
        pass


class RMSNorm(nn.Module):
    """RMSNorm with a weight and no bias (OLMo-2), computed in fp32."""

    def __init__(self, size: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x.float(), self.weight.shape, self.weight.float(), self.eps).type_as(x)

    def reset_parameters(self) -> None:
        nn.init.ones_(self.weight)


def make_norm(config: OLMoConfig, size: int) -> nn.Module:
    """The norm that ``config.norm`` names, over the last ``size`` features."""
    return (RMSNorm if config.norm == "rms_norm" else LayerNorm)(size, config.norm_eps)


class RotaryEmbedding(nn.Module):
    """RoPE in its non-interleaved "rotate half" form, computed in fp32.

    The cos/sin tables are cached per device as plain attributes, not buffers: they stay fp32 when the model
    is cast to bf16, never enter a checkpoint, and are rebuilt after the model moves (or leaves ``meta``).
    """

    def __init__(self, head_dim: int, theta: float, length: int) -> None:
        super().__init__()
        self.head_dim, self.theta, self.length = head_dim, theta, length
        self._tables: Pair | None = None

    def tables(self, end: int, device: torch.device) -> Pair:
        """cos and sin for positions ``0 .. end-1``, each ``(end, head_dim)`` in fp32."""
        if self._tables is None or self._tables[0].device != device or self._tables[0].shape[0] < end:
            length = max(end, self.length)
            inv_freq = 1.0 / (self.theta ** (torch.arange(0, self.head_dim, 2, device=device).float() / self.head_dim))
            freqs = torch.outer(torch.arange(length, device=device).float(), inv_freq)
            angles = torch.cat((freqs, freqs), dim=-1)
            self._tables = (angles.cos(), angles.sin())
            self.length = length
        cos, sin = self._tables
        return cos[:end], sin[:end]


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``x`` ``(batch, heads, seq, head_dim)`` by the positions whose ``cos``/``sin`` are given
    (``x * cos + rotate_half(x) * sin`` in fp32, in ``x``'s dtype)."""
    return cast(torch.Tensor, _Rope.apply(x, cos, sin))


class _Rope(torch.autograd.Function):
    """RoPE as four half-width products each way; it keeps only the tables for the backward pass (the rotation's
    transpose: the same rotation by minus the angle)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(cos, sin)
        return _rotate(x, cos, sin, 1.0)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        cos, sin = ctx.saved_tensors
        return _rotate(grad, cos, sin, -1.0), None, None


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, sign: float) -> torch.Tensor:
    """``(x1 cos - x2 sin, x2 cos + x1 sin)`` over the halves of ``x``'s last axis (``sin`` times ``sign``); the
    tables' two halves are equal, so their first halves are used."""
    half = x.shape[-1] // 2
    xf = x.float()
    x1, x2, c, s = xf[..., :half], xf[..., half:], cos[..., :half], sin[..., :half]
    out = torch.empty(torch.broadcast_shapes(xf.shape, cos.shape), dtype=torch.float32, device=x.device)
    o1, o2 = out[..., :half], out[..., half:]
    torch.mul(x1, c, out=o1).addcmul_(x2, s, value=-sign)
    torch.mul(x2, c, out=o2).addcmul_(x1, s, value=sign)
    return out.to(x.dtype)


def swiglu(h: torch.Tensor) -> torch.Tensor:
    """``silu(gate) * up`` of ``h = [up, gate]`` (the halves of the last axis, OLMo's order)."""
    return cast(torch.Tensor, _SwiGLU.apply(h))


class _SwiGLU(torch.autograd.Function):
    """SwiGLU that keeps only its input for the backward pass and writes both halves of the input's gradient
    into one tensor (no concatenation of the halves' gradients)."""

    @staticmethod
    def forward(ctx: Any, h: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(h)
        up, gate = h.chunk(2, dim=-1)
        return F.silu(gate).mul_(up)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (h,) = ctx.saved_tensors
        up, gate = h.chunk(2, dim=-1)
        grad_h = torch.empty_like(h, memory_format=torch.contiguous_format)
        grad_up, grad_gate = grad_h.chunk(2, dim=-1)
        torch.ops.aten.silu_backward.grad_input(grad * up, gate, grad_input=grad_gate)
        torch.ops.aten.silu.out(gate, out=grad_up).mul_(grad)
        return grad_h


class OLMoBlock(nn.Module):
    """One transformer block: fused-QKV causal self-attention, then a SwiGLU MLP."""

    def __init__(self, config: OLMoConfig) -> None:
        super().__init__()
        self.config = config
        d, kv_dim = config.d_model, config.kv_heads * config.head_dim
        self.fused_dims = (d, kv_dim, kv_dim)
        self.att_proj = nn.Linear(d, d + 2 * kv_dim, bias=False)
        self.attn_out = nn.Linear(d, d, bias=False)
        self.ff_proj = nn.Linear(d, config.mlp_hidden_size, bias=False)
        self.ff_out = nn.Linear(config.mlp_hidden_size // 2, d, bias=False)
        self.attn_norm = make_norm(config, d)
        self.ff_norm = make_norm(config, d)
        if config.qk_norm:
            self.q_norm = make_norm(config, d)
            self.k_norm = make_norm(config, kv_dim)

    def forward(self, x: torch.Tensor, rope: Pair, mask: torch.Tensor | None,
                past: Pair | None) -> tuple[torch.Tensor, Pair]:
        if self.config.block == "olmo2":  # reordered norm: normalize what each sublayer adds
            attended, present = self.attention(x, rope, mask, past)
            x = x + self.attn_norm(attended)
            return x + self.ff_norm(self.mlp(x)), present
        attended, present = self.attention(self.attn_norm(x), rope, mask, past)
        x = x + attended
        return x + self.mlp(self.ff_norm(x)), present

    def attention(self, x: torch.Tensor, rope: Pair, mask: torch.Tensor | None,
                  past: Pair | None) -> tuple[torch.Tensor, Pair]:
        c = self.config
        batch, seq, _ = x.shape
        qkv = self.att_proj(x)
        if c.clip_qkv is not None:
            qkv = qkv.clamp(-c.clip_qkv, c.clip_qkv)
        if c.qk_norm:
            q, k, v = qkv.split(self.fused_dims, dim=-1)
            q, k = self.q_norm(q), self.k_norm(k)
            q = apply_rope(q.view(batch, seq, c.n_heads, c.head_dim).transpose(1, 2), *rope)
            k = apply_rope(k.view(batch, seq, c.kv_heads, c.head_dim).transpose(1, 2), *rope)
        else:  # queries and keys are adjacent in qkv: rotate them together
            qk, v = qkv.split((self.fused_dims[0] + self.fused_dims[1], self.fused_dims[2]), dim=-1)
            qk = qk.view(batch, seq, c.n_heads + c.kv_heads, c.head_dim).transpose(1, 2)
            q, k = apply_rope(qk, *rope).split((c.n_heads, c.kv_heads), dim=1)
        v = v.view(batch, seq, c.kv_heads, c.head_dim).transpose(1, 2)
        if past is not None:
            k, v = torch.cat((past[0], k), dim=2), torch.cat((past[1], v), dim=2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None and past is None,
                                           enable_gqa=c.kv_heads != c.n_heads)
        return self.attn_out(y.transpose(1, 2).reshape(batch, seq, c.d_model)), (k, v)

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        return self.ff_out(swiglu(self.ff_proj(x)))  # first half "up", second half "gate"


class Transformer(nn.Module):
    """The container that gives the weights OLMo's names: ``wte``, ``blocks.{i}``, ``ln_f`` and, when the
    LM head is not tied to the embedding, ``ff_out``."""

    def __init__(self, config: OLMoConfig) -> None:
        super().__init__()
        self.wte = nn.Embedding(config.embedding_size, config.d_model)
        self.blocks = nn.ModuleList(OLMoBlock(config) for _ in range(config.n_layers))
        self.ln_f = make_norm(config, config.d_model)
        self.ff_out = None if config.weight_tying else nn.Linear(config.d_model, config.embedding_size, bias=False)


class OLMo(nn.Module):
    """The OLMo decoder-only language model built from an :class:`OLMoConfig`.

    Logits cover ``config.embedding_size`` tokens (the vocabulary padded to a multiple of 128).
    """

    def __init__(self, config: OLMoConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = Transformer(config)
        self.rope = RotaryEmbedding(config.head_dim, config.rope_theta, config.max_sequence_length)
        self.reset_parameters()

    @property
    def blocks(self) -> list[OLMoBlock]:
        """The transformer blocks, first to last."""
        return cast(list[OLMoBlock], list(self.transformer.blocks))

    @property
    def lm_head(self) -> torch.Tensor:
        """The ``(embedding_size, d_model)`` output projection: the embedding itself when tied."""
        return self.transformer.wte.weight if self.transformer.ff_out is None else self.transformer.ff_out.weight

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """Initialize every weight as ``config.init`` says, from truncated normals (``init_cutoff_factor``).

        ``"mitchell"`` (OLMo-1): std ``1/sqrt(d_model)`` for the embedding, ``att_proj``, ``ff_proj`` and an
        untied LM head; ``1/sqrt(2·d_model·(i+1))`` for block ``i``'s ``attn_out`` and
        ``1/sqrt(2·(mlp_hidden_size/2)·(i+1))`` for its ``ff_out``. ``"normal"`` (OLMo-2): std ``init_std``
        for all of them. Norm weights are ones.
        """
        c = self.config
        mitchell = c.init == "mitchell"
        std_in = 1 / math.sqrt(c.d_model) if mitchell else c.init_std
        self._init(self.transformer.wte.weight, std_in)
        if self.transformer.ff_out is not None:
            self._init(self.transformer.ff_out.weight, std_in)
        for i, block in enumerate(self.blocks):
            depth = 2 * (i + 1)
            self._init(block.att_proj.weight, std_in)
            self._init(block.ff_proj.weight, std_in)
            self._init(block.attn_out.weight, 1 / math.sqrt(depth * c.d_model) if mitchell else c.init_std)
            self._init(block.ff_out.weight, 1 / math.sqrt(depth * block.ff_out.in_features) if mitchell else c.init_std)
        for module in self.modules():
            if isinstance(module, (LayerNorm, RMSNorm)):
                module.reset_parameters()

    def _init(self, weight: torch.Tensor, std: float) -> None:
        cutoff = self.config.init_cutoff_factor
        if cutoff is None:
            nn.init.normal_(weight, mean=0.0, std=std)
        else:
            nn.init.trunc_normal_(weight, mean=0.0, std=std, a=-cutoff * std, b=cutoff * std)

    def forward(self, input_ids: torch.Tensor, *, doc_lens: torch.Tensor | None = None,
                past_key_values: KVCache | None = None, use_cache: bool = False, labels: torch.Tensor | None = None,
                z_loss: float = 0.0, label_logps: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, KVCache] | LMLossSums:
        """Logits ``(batch, seq, embedding_size)`` for ``input_ids`` ``(batch, seq)``, computed as
        ``logits(hidden_states(input_ids, ...))``.

        :param doc_lens: ``(batch, max_docs)`` lengths of the documents packed into each row, in order and
            zero-padded (OLMo's format): a token attends only to earlier tokens of its own document. Tokens past
            a row's total form one more document. Positions are not reset at document starts (as in OLMo); RoPE
            makes attention depend only on distances, so a document's logits do not depend on where it sits.
        :param past_key_values: the cache of the tokens before ``input_ids``; they sit at positions
            ``0 .. past-1`` and the new ones follow.
        :param use_cache: also return the cache extended with ``input_ids``, as ``(logits, cache)``.
        :param labels: ``(batch, seq)`` next-token targets (``IGNORE`` where none): return the summed
            cross-entropy (and ``z_loss``-weighted z-loss) as :class:`~olmo_core.nn.lm_loss.LMLossSums`
            instead of logits, computed chunk by chunk without materializing the logits
            (:func:`~olmo_core.nn.lm_loss.linear_cross_entropy`). This is how training calls the model.
        :param z_loss: the z-loss multiplier, with ``labels``.
        :param label_logps: with ``labels``, return ``log p(label)`` at every position instead (``(batch, seq)``,
            0 where ``IGNORE``; :func:`~olmo_core.nn.lm_loss.linear_label_logps`), as preference tuning needs.
        """
        if labels is not None and use_cache:
            raise ValueError("labels (a loss) cannot be combined with use_cache")
        mask = None
        if doc_lens is not None:
            if past_key_values is not None and past_key_values[0][0].shape[2]:
                raise ValueError("doc_lens cannot be combined with past_key_values")
            mask = document_mask(doc_lens, input_ids.shape[1])
        cache: KVCache | None = [] if use_cache else None
        hidden = self.hidden_states(input_ids, attention_mask=mask, past_key_values=past_key_values, new_cache=cache)
        if labels is not None and label_logps:
            return linear_label_logps(hidden, self.lm_head, labels)
        if labels is not None:
            return linear_cross_entropy(hidden, self.lm_head, labels, z_loss=z_loss)
        logits = self.logits(hidden)
        return logits if cache is None else (logits, cache)

    def hidden_states(self, input_ids: torch.Tensor, *, positions: torch.Tensor | None = None,
                      attention_mask: torch.Tensor | None = None, past_key_values: KVCache | None = None,
                      new_cache: KVCache | None = None) -> torch.Tensor:
        """The final hidden states ``(batch, seq, d_model)`` of ``input_ids`` ``(batch, seq)``: the last block's
        output after the final norm (``ln_f``), which is what the LM head reads.

        With :meth:`logits` this is the model's public seam for code that needs more than ``forward``: a scorer
        that reads a few positions' logits, or packs rows with its own positions and mask, calls
        ``model.logits(model.hidden_states(input_ids, ...)[picked])`` and never touches the modules.

        :param positions: ``(batch, seq)`` the RoPE position of every token. By default ``past .. past+seq-1``,
            ``past`` being the cached length. Attention depends only on the distances between positions.
        :param attention_mask: ``(batch, 1, seq, past + seq)`` (or broadcastable) booleans, ``True`` where a
            token may attend (``scaled_dot_product_attention``'s ``attn_mask``). It replaces the causal mask,
            so it must be causal itself where that is wanted. By default: causal.
        :param past_key_values: the cache of the tokens before ``input_ids`` (see :meth:`forward`).
        :param new_cache: a list to which each block's ``(keys, values)``, the past tokens' and these, is
            appended: the cache ``forward(..., use_cache=True)`` returns.
        """
        seq = input_ids.shape[1]
        past_len = 0 if past_key_values is None else past_key_values[0][0].shape[2]
        if positions is None:
            cos, sin = self.rope.tables(past_len + seq, input_ids.device)
            rope = (cos[past_len:], sin[past_len:])
        else:  # (batch, 1, seq, head_dim): one table row per token, the same for every head
            cos, sin = self.rope.tables(int(positions.max()) + 1, input_ids.device)
            rope = (cos[positions][:, None], sin[positions][:, None])
        mask = attention_mask
        if mask is None and past_len and seq > 1:  # causal with the new tokens at the bottom right
            mask = torch.ones(seq, past_len + seq, dtype=torch.bool, device=input_ids.device).tril(past_len)

        x = self.transformer.wte(input_ids)
        for i, block in enumerate(self.blocks):
            x, present = block(x, rope, mask, None if past_key_values is None else past_key_values[i])
            if new_cache is not None:
                new_cache.append(present)
        return self.transformer.ln_f(x)

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """The LM head: logits ``(..., embedding_size)`` of final hidden states ``(..., d_model)`` from
        :meth:`hidden_states` (all of them or any selection of positions), in the model's dtype."""
        return F.linear(hidden, self.lm_head)


def document_mask(doc_lens: torch.Tensor, seq: int) -> torch.Tensor:
    """The ``(batch, 1, seq, seq)`` boolean mask that lets a token attend to itself and earlier tokens of its
    own document, given ``doc_lens`` ``(batch, max_docs)``."""
    positions = torch.arange(seq, device=doc_lens.device)
    doc_ends = doc_lens.cumsum(dim=-1)
    doc_ids = (doc_ends[:, :, None] <= positions[None, None, :]).sum(dim=1)
    same_doc = doc_ids[:, :, None] == doc_ids[:, None, :]
    causal = torch.ones(seq, seq, dtype=torch.bool, device=doc_lens.device).tril()
    return (same_doc & causal)[:, None]
