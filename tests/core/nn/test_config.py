"""OLMoConfig: validation, padding, presets and parameter counts worked out by hand."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from omegaconf import OmegaConf

from olmo_core.config import config_of
from olmo_core.errors import ConfigError
from olmo_core.nn import PRESETS, OLMoConfig, num_non_embedding_params, num_params


def olmo_block(d: int, ff_proj_out: int, kv_dim: int, norm_weights: int) -> int:
    """One block, by hand: fused qkv, attention output, SwiGLU in (two halves) and out, norm weights."""
    att_proj = d * (d + 2 * kv_dim)
    attn_out = d * d
    ff_proj = d * ff_proj_out
    ff_out = (ff_proj_out // 2) * d
    return att_proj + attn_out + ff_proj + ff_out + norm_weights


def test_olmo1_1b_by_hand() -> None:
    # d 2048, 16 layers, ff_proj 16384 (SwiGLU 8192), no norm weights; 50304 x 2048 embedding, tied
    block = 2048 * 6144 + 2048 * 2048 + 2048 * 16384 + 8192 * 2048
    assert block == 12_582_912 + 4_194_304 + 33_554_432 + 16_777_216 == 67_108_864
    total = 16 * block + 50304 * 2048
    assert total == 1_073_741_824 + 103_022_592 == 1_176_764_416
    assert num_params(PRESETS["olmo1-1b"]) == total
    assert num_non_embedding_params(PRESETS["olmo1-1b"]) == 16 * block


def test_olmo1_7b_by_hand() -> None:
    # d 4096, 32 layers, ff_proj 22016 (SwiGLU 11008); untied: embedding and LM head both 50304 x 4096
    block = 4096 * 12288 + 4096 * 4096 + 4096 * 22016 + 11008 * 4096
    assert block == 50_331_648 + 16_777_216 + 90_177_536 + 45_088_768 == 202_375_168
    total = 32 * block + 2 * 50304 * 4096
    assert total == 6_476_005_376 + 412_090_368 == 6_888_095_744
    assert num_params(PRESETS["olmo1-7b"]) == total


def test_olmo2_1b_by_hand() -> None:
    # as OLMo-1B plus four RMSNorm weights of 2048 per block (attn, ff, q, k) and ln_f; untied 100352 rows
    block = 67_108_864 + 4 * 2048
    total = 16 * block + 2048 + 2 * 100352 * 2048
    assert total == 1_073_872_896 + 2048 + 411_041_792 == 1_484_916_736
    assert num_params(PRESETS["olmo2-1b"]) == total


def test_olmo2_7b_by_hand() -> None:
    block = 202_375_168 + 4 * 4096
    total = 32 * block + 4096 + 2 * 100352 * 4096
    assert total == 6_476_529_664 + 4096 + 822_083_584 == 7_298_617_344
    assert num_params(PRESETS["olmo2-7b"]) == total


@pytest.mark.parametrize("name", ["olmo1-1b", "olmo1-7b", "olmo2-1b", "olmo2-7b"])
def test_paper_presets_match_the_block_formula(name: str) -> None:
    c = PRESETS[name]
    norms = 4 * c.d_model if c.norm == "rms_norm" else 0
    expected = c.n_layers * olmo_block(c.d_model, c.mlp_hidden_size, c.d_model, norms)
    expected += (c.d_model if c.norm == "rms_norm" else 0) + c.embedding_size * c.d_model * (1 if c.weight_tying else 2)
    assert num_params(c) == expected


def test_gqa_shrinks_only_key_and_value_projections() -> None:
    mha = OLMoConfig(d_model=256, n_heads=8, n_layers=2, mlp_hidden_size=1024, vocab_size=256, eos_token_id=0)
    gqa = dataclasses.replace(mha, n_kv_heads=2)
    # k and v lose 256 - 64 output rows each, of 256 inputs, in both layers
    assert num_params(mha) - num_params(gqa) == 2 * 2 * (256 - 64) * 256


@pytest.mark.parametrize(("name", "non_embedding", "total"), [
    ("olmo-tiny", 4 * 16 * 128**2, 4 * 16 * 128**2 + 50304 * 128),  # a block is 16·d² at SwiGLU 4·d
    ("olmo-small", 10 * 16 * 256**2, 10 * 16 * 256**2 + 50304 * 256),
    ("olmo-medium", 6 * 16 * 512**2, 6 * 16 * 512**2 + 50304 * 512),
])
def test_cpu_presets(name: str, non_embedding: int, total: int) -> None:
    c = PRESETS[name]
    assert (c.vocab_size, c.embedding_size, c.eos_token_id, c.weight_tying) == (50280, 50304, 50279, True)
    assert num_non_embedding_params(c) == non_embedding
    assert num_params(c) == total


def test_cpu_preset_names_give_non_embedding_sizes() -> None:
    for name, size in (("olmo-tiny", 1e6), ("olmo-small", 1e7), ("olmo-medium", 2.5e7)):
        assert abs(num_non_embedding_params(PRESETS[name]) / size - 1) < 0.1


def test_defaults_are_olmo1_1b() -> None:
    assert OLMoConfig() == PRESETS["olmo1-1b"]
    assert dataclasses.replace(PRESETS["olmo1-1b"]) == OLMoConfig()


@pytest.mark.parametrize(("vocab", "rows"), [(50280, 50304), (100278, 100352), (256, 256), (257, 384), (1, 128)])
def test_embedding_is_padded_to_a_multiple_of_128(vocab: int, rows: int) -> None:
    config = OLMoConfig(vocab_size=vocab, eos_token_id=0, pad_token_id=0)
    assert config.embedding_size == rows
    assert dataclasses.replace(config, vocab_size=vocab + 128).embedding_size == rows + 128


def test_derived_shapes() -> None:
    c = OLMoConfig(d_model=512, n_heads=8, n_kv_heads=2)
    assert (c.head_dim, c.kv_heads) == (64, 2)
    assert OLMoConfig(d_model=512, n_heads=8).kv_heads == 8


@pytest.mark.parametrize("changes", [
    {"norm": "batch_norm"}, {"block": "gpt2"}, {"init": "xavier"}, {"d_model": 100, "n_heads": 3},
    {"d_model": 96, "n_heads": 32}, {"n_heads": 16, "n_kv_heads": 3}, {"mlp_hidden_size": 1001},
    {"eos_token_id": 50280}, {"pad_token_id": -1}, {"clip_qkv": 0.0}, {"n_layers": 0},
])
def test_invalid_configs_are_config_errors(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match="OLMoConfig"):
        OLMoConfig(**changes)  # type: ignore[arg-type]


def test_every_field_is_documented_and_defaulted() -> None:
    text = inspect.getsource(OLMoConfig)
    for f in dataclasses.fields(OLMoConfig):
        assert f.kw_only and f.default is not dataclasses.MISSING, f.name
        after = text.split(f"\n    {f.name}: ", 1)[1].split("\n", 2)[1]
        assert after.strip().startswith('"""'), f"{f.name} has no attribute docstring"


def test_composes_through_omegaconf() -> None:
    composed = config_of(OLMoConfig, {"d_model": 128, "n_heads": 4, "n_kv_heads": 2, "clip_qkv": 8.0})
    assert composed == OLMoConfig(d_model=128, n_heads=4, n_kv_heads=2, clip_qkv=8.0)
    schema = OmegaConf.structured(PRESETS["olmo2-7b"])
    assert schema.n_kv_heads is None and schema.block == "olmo2"
    with pytest.raises(ConfigError):
        config_of(OLMoConfig, {"d_model": "wide"})
