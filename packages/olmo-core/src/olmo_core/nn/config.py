"""The OLMo model's configuration, its named presets and its parameter counts (no torch needed).

Every field of :class:`OLMoConfig` defaults to the OLMo-1 1B value, so ``OLMoConfig()`` equals
``PRESETS["olmo1-1b"]``. Counts come from the shapes alone: nothing is allocated, so the 7B presets can
be counted on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from olmo_core.config import positive
from olmo_core.errors import ConfigError

__all__ = ["CONTEXT_KEYS", "EMBEDDING_MULTIPLE", "PRESETS", "OLMoConfig", "context_length", "num_non_embedding_params",
           "num_params"]

EMBEDDING_MULTIPLE = 128
"""The embedding's rows are the vocabulary rounded up to a multiple of this (OLMo: 50280 -> 50304)."""

_NORMS = ("layer_norm", "rms_norm")
_BLOCKS = ("olmo1", "olmo2")
_INITS = ("mitchell", "normal")


@dataclass(kw_only=True)
class OLMoConfig:
    """The shape and numerics of an OLMo decoder: OLMo-1 (pre-norm, non-parametric LayerNorm) or OLMo-2
    (RMSNorm after attention and MLP, QK-norm). There are no biases anywhere and no dropout."""

    d_model: int = positive(2048)
    """Width of the residual stream."""
    n_layers: int = positive(16)
    """Number of transformer blocks."""
    n_heads: int = positive(16)
    """Attention (query) heads; ``d_model`` must be divisible by it, and the head size must be even (RoPE)."""
    n_kv_heads: int | None = positive(None)
    """Key/value heads; ``None`` means ``n_heads`` (multi-head attention), fewer means grouped-query attention."""
    mlp_hidden_size: int = positive(16384)
    """Output size of ``ff_proj``, which holds both SwiGLU halves (OLMo's convention): the SwiGLU hidden size,
    the input of ``ff_out``, is half of it (OLMo-1B: 16384 -> 8192; OLMo-7B: 22016 -> 11008)."""
    vocab_size: int = positive(50280)
    """Tokens the tokenizer can produce (the OLMo v1.5 tokenizer has 50280)."""
    max_sequence_length: int = positive(2048)
    """Longest sequence trained on; the rotary tables are precomputed for it (longer inputs extend them)."""
    rope_theta: float = positive(10_000.0)
    """RoPE base wavelength (OLMo-1: 10,000; OLMo-2: 500,000)."""
    norm: str = "layer_norm"
    """``"layer_norm"``: non-parametric LayerNorm (OLMo-1); ``"rms_norm"``: RMSNorm with a weight (OLMo-2)."""
    norm_eps: float = positive(1e-5)
    """Epsilon of every norm (OLMo-1: 1e-5; OLMo-2: 1e-6)."""
    block: str = "olmo1"
    """``"olmo1"``: pre-norm, ``x + attn(norm(x))``; ``"olmo2"``: reordered norm, ``x + norm(attn(x))``
    (the same for the MLP)."""
    qk_norm: bool = False
    """Normalize queries and keys over their full projection width (not per head), before RoPE (OLMo-2)."""
    clip_qkv: float | None = positive(None)
    """Clamp the fused query/key/value projection to ``[-clip_qkv, clip_qkv]`` (OLMo-7B-0424: 8.0)."""
    weight_tying: bool = True
    """Use the token embedding as the LM head (OLMo-1B); ``False`` gives a separate ``transformer.ff_out``."""
    init: str = "mitchell"
    """``"mitchell"``: std ``1/sqrt(d_model)`` for inputs, shrinking with depth for the output projections
    (OLMo-1); ``"normal"``: std ``init_std`` everywhere (OLMo-2)."""
    init_std: float = positive(0.02)
    """Std of every weight under ``init="normal"``."""
    init_cutoff_factor: float | None = positive(3.0)
    """Truncate every initial weight to ``±factor·std``; ``None`` draws from an untruncated normal."""
    eos_token_id: int = 50279
    """End-of-sequence token (OLMo v1.5 tokenizer: 50279)."""
    pad_token_id: int = 1
    """Padding token (OLMo v1.5 tokenizer: 1)."""

    def __post_init__(self) -> None:
        for name, value, choices in (("norm", self.norm, _NORMS), ("block", self.block, _BLOCKS),
                                     ("init", self.init, _INITS)):
            if value not in choices:
                raise ConfigError(f"OLMoConfig.{name} must be one of {', '.join(choices)}, not {value!r}")
        for name in ("d_model", "n_layers", "n_heads", "mlp_hidden_size", "vocab_size", "max_sequence_length"):
            if getattr(self, name) < 1:
                raise ConfigError(f"OLMoConfig.{name} must be positive, not {getattr(self, name)}")
        if self.d_model % self.n_heads or self.head_dim % 2:
            raise ConfigError(f"OLMoConfig: d_model {self.d_model} must split into {self.n_heads} heads "
                              f"of an even size")
        if self.kv_heads < 1 or self.n_heads % self.kv_heads:
            raise ConfigError(f"OLMoConfig: n_heads {self.n_heads} must be a multiple of n_kv_heads {self.n_kv_heads}")
        if self.mlp_hidden_size % 2:
            raise ConfigError(f"OLMoConfig.mlp_hidden_size must be even (two SwiGLU halves), "
                              f"not {self.mlp_hidden_size}")
        for name in ("eos_token_id", "pad_token_id"):
            if not 0 <= getattr(self, name) < self.vocab_size:
                raise ConfigError(f"OLMoConfig.{name} {getattr(self, name)} is outside the vocabulary "
                                  f"of {self.vocab_size} tokens")
        if self.clip_qkv is not None and self.clip_qkv <= 0:
            raise ConfigError(f"OLMoConfig.clip_qkv must be positive or None, not {self.clip_qkv}")

    @property
    def head_dim(self) -> int:
        """Size of one attention head."""
        return self.d_model // self.n_heads

    @property
    def kv_heads(self) -> int:
        """Key/value heads, resolved (``n_kv_heads`` or ``n_heads``)."""
        return self.n_heads if self.n_kv_heads is None else self.n_kv_heads

    @property
    def embedding_size(self) -> int:
        """Rows of the embedding and of the LM head: ``vocab_size`` rounded up to a multiple of 128.

        Computed, not set, so that overriding ``vocab_size`` always pads correctly. The padded rows are never
        produced by the tokenizer; :func:`olmo_core.nn.generate.generate` never samples them.
        """
        return -(-self.vocab_size // EMBEDDING_MULTIPLE) * EMBEDDING_MULTIPLE


def num_non_embedding_params(config: OLMoConfig) -> int:
    """Parameters of the transformer blocks and the final norm: everything but the token embedding and the
    LM head, tied or not (Kaplan et al.'s N). FLOPs per token must add the LM head's ``d_model·embedding_size``."""
    d, kv_dim = config.d_model, config.kv_heads * config.head_dim
    attention = d * (d + 2 * kv_dim) + d * d
    mlp = d * config.mlp_hidden_size + (config.mlp_hidden_size // 2) * d
    norms, final_norm = 0, 0
    if config.norm == "rms_norm":  # a LayerNorm has no parameters
        norms = 2 * d + (d + kv_dim if config.qk_norm else 0)
        final_norm = d
    return config.n_layers * (attention + mlp + norms) + final_norm


def num_params(config: OLMoConfig) -> int:
    """All parameters, counting a tied embedding once."""
    embedding = config.embedding_size * config.d_model
    return num_non_embedding_params(config) + embedding * (1 if config.weight_tying else 2)


def _olmo2(**shape: int | float | bool) -> OLMoConfig:
    values: dict[str, object] = dict(norm="rms_norm", norm_eps=1e-6, block="olmo2", qk_norm=True,
                                     rope_theta=500_000.0, init="normal", weight_tying=False,
                                     max_sequence_length=4096, vocab_size=100278, eos_token_id=100257,
                                     pad_token_id=100277)
    values.update(shape)
    return OLMoConfig(**values)  # type: ignore[arg-type]


PRESETS: dict[str, OLMoConfig] = {
    # The papers' shapes. OLMo-1 uses the v1.5 tokenizer (50280 -> 50304 rows), OLMo-2 "dolma2" (100278 -> 100352).
    "olmo1-1b": OLMoConfig(),
    "olmo1-7b": OLMoConfig(d_model=4096, n_layers=32, n_heads=32, mlp_hidden_size=22016, weight_tying=False),
    "olmo2-1b": _olmo2(d_model=2048, n_layers=16, n_heads=16, mlp_hidden_size=16384),
    "olmo2-7b": _olmo2(d_model=4096, n_layers=32, n_heads=32, mlp_hidden_size=22016),
    # CPU sizes: OLMo-1 architecture, OLMo tokenizer, tied. Their names give the *non-embedding* parameters
    # (1.05M, 10.5M, 25.2M): with 50,304 rows the embedding alone is 6.4M at d_model 128, so totals are
    # 7.5M, 23.4M and 50.9M. SwiGLU hidden is 4·d_model as in OLMo-1B; head size 32-64.
    "olmo-tiny": OLMoConfig(d_model=128, n_layers=4, n_heads=4, mlp_hidden_size=1024, max_sequence_length=1024),
    "olmo-small": OLMoConfig(d_model=256, n_layers=10, n_heads=4, mlp_hidden_size=2048, max_sequence_length=1024),
    "olmo-medium": OLMoConfig(d_model=512, n_layers=6, n_heads=8, mlp_hidden_size=4096, max_sequence_length=1024),
}
"""Named configurations, selected like components (``model=olmo1-7b``). ``olmo1-7b`` is the February 2024
OLMo-7B (no ``clip_qkv``, 2048 tokens); the 0424 release adds ``clip_qkv=8.0`` and 4096 tokens."""


CONTEXT_KEYS = ("max_sequence_length", "max_position_embeddings", "n_positions", "max_seq_len")
"""Where configs keep the most tokens a model reads: OLMo's, then transformers' (GPT-2's, MPT's) names."""


def context_length(model: Any, default: int = 2048) -> int:
    """The most tokens ``model`` reads (the first of :data:`CONTEXT_KEYS` its config sets, else ``default``)."""
    config = getattr(model, "config", None)
    return next((int(getattr(config, key)) for key in CONTEXT_KEYS if isinstance(getattr(config, key, None), int)),
                default)
