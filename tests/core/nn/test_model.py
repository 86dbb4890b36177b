"""The OLMo module: parameter names and counts, causality, document masking, the KV cache, init."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest
import torch

from olmo_core.nn import PRESETS, OLMoConfig, num_params
from olmo_core.nn.model import OLMo


@pytest.mark.parametrize("tied", [True, False])
def test_num_params_counts_every_parameter_of_a_preset(tied: bool) -> None:
    config = dataclasses.replace(PRESETS["olmo-tiny"], weight_tying=tied)
    model = OLMo(config)
    assert sum(p.numel() for p in model.parameters()) == num_params(config)
    assert model.lm_head.shape == (50304, 128)
    assert (model.lm_head is model.transformer.wte.weight) is tied
    assert (model.transformer.ff_out is None) is tied


def test_num_params_counts_every_parameter_of_each_variant(model: OLMo) -> None:
    assert sum(p.numel() for p in model.parameters()) == num_params(model.config)


def test_parameter_names_follow_olmo(byte_config: OLMoConfig, olmo2: dict[str, Any]) -> None:
    config = dataclasses.replace(byte_config, n_layers=1, weight_tying=False, **olmo2)
    names = set(OLMo(config).state_dict())
    block = "transformer.blocks.0."
    assert names == {"transformer.wte.weight", "transformer.ff_out.weight", "transformer.ln_f.weight"} | {
        block + name + ".weight"
        for name in ("att_proj", "attn_out", "ff_proj", "ff_out", "attn_norm", "ff_norm", "q_norm", "k_norm")}
    olmo1 = set(OLMo(dataclasses.replace(byte_config, n_layers=1)).state_dict())  # no parameters in its LayerNorms
    linears = ("att_proj", "attn_out", "ff_proj", "ff_out")
    assert olmo1 == {"transformer.wte.weight"} | {block + name + ".weight" for name in linears}


def test_logits_cover_the_padded_embedding(byte_config: OLMoConfig) -> None:
    config = dataclasses.replace(byte_config, vocab_size=200)
    assert OLMo(config)(torch.zeros(1, 5, dtype=torch.long)).shape == (1, 5, 256)


def test_future_tokens_never_change_earlier_logits(model: OLMo, text_ids: torch.Tensor) -> None:
    changed = text_ids.clone()
    changed[:, 40:] = torch.randint(0, 256, changed[:, 40:].shape)
    with torch.no_grad():
        before, after = model(text_ids), model(changed)
    torch.testing.assert_close(after[:, :40], before[:, :40], rtol=0, atol=1e-5)
    assert (after[:, 41:] - before[:, 41:]).abs().max() > 1e-2


def test_documents_do_not_see_each_other(model: OLMo, text_ids: torch.Tensor) -> None:
    first, second = text_ids[0, :30], text_ids[1, :50]
    packed = torch.stack([torch.cat((first, second, text_ids[0, 30:46])), text_ids[1, :96]])
    doc_lens = torch.tensor([[30, 50, 16], [96, 0, 0]])
    with torch.no_grad():
        logits = model(packed, doc_lens=doc_lens)
        alone = [model(doc[None])[0] for doc in (first, second, text_ids[0, 30:46])]
        unmasked = model(packed)
    torch.testing.assert_close(logits[0, :30], alone[0], rtol=0, atol=1e-5)
    torch.testing.assert_close(logits[0, 30:80], alone[1], rtol=0, atol=1e-5)
    torch.testing.assert_close(logits[0, 80:], alone[2], rtol=0, atol=1e-5)
    torch.testing.assert_close(logits[1], unmasked[1], rtol=0, atol=1e-5)  # one document: plain causal
    assert (unmasked[0, 30:80] - alone[1]).abs().max() > 1e-2  # without the mask, document 2 sees document 1


def test_kv_cache_matches_the_full_forward(model: OLMo, text_ids: torch.Tensor) -> None:
    with torch.no_grad():
        full = model(text_ids)
        logits, cache = model(text_ids[:, :50], use_cache=True)
        steps = [logits]
        for t in range(50, 60):  # one token at a time
            logits, cache = model(text_ids[:, t:t + 1], past_key_values=cache, use_cache=True)
            steps.append(logits)
        logits, cache = model(text_ids[:, 60:], past_key_values=cache, use_cache=True)  # a chunk after a prefix
        steps.append(logits)
    torch.testing.assert_close(torch.cat(steps, dim=1), full, rtol=0, atol=1e-5)
    config = model.config
    assert len(cache) == config.n_layers
    assert cache[0][0].shape == (2, config.kv_heads, 96, config.head_dim)


def test_sequences_longer_than_max_sequence_length_extend_rope(byte_config: OLMoConfig, text_ids: torch.Tensor) -> None:
    model = OLMo(byte_config)
    short = OLMo(dataclasses.replace(byte_config, max_sequence_length=16))
    short.load_state_dict(model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(short(text_ids), model(text_ids), rtol=0, atol=0)


def test_clip_qkv_changes_the_output(byte_config: OLMoConfig, text_ids: torch.Tensor) -> None:
    clipped = OLMo(dataclasses.replace(byte_config, clip_qkv=0.5))
    free = OLMo(byte_config)
    free.load_state_dict(clipped.state_dict())
    with torch.no_grad():
        assert (clipped(text_ids) - free(text_ids)).abs().max() > 1e-3


def test_meta_device_then_reset_parameters(byte_config: OLMoConfig, text_ids: torch.Tensor) -> None:
    with torch.device("meta"):
        model = OLMo(byte_config)
    model.to_empty(device="cpu")
    model.reset_parameters()
    assert torch.isfinite(model(text_ids)).all()


def test_bfloat16_keeps_rope_in_float32(byte_config: OLMoConfig, text_ids: torch.Tensor) -> None:
    model = OLMo(byte_config)
    with torch.no_grad():
        reference = model(text_ids[:, :16])
        low = model.to(torch.bfloat16)(text_ids[:, :16])
    assert low.dtype == torch.bfloat16
    assert model.rope.tables(16, torch.device("cpu"))[0].dtype == torch.float32
    torch.testing.assert_close(low.float(), reference, rtol=0, atol=0.1)


def truncated_std(std: float, cutoff: float) -> float:
    """Std of N(0, std²) truncated to ±cutoff·std: std·sqrt(1 - 2aφ(a)/(2Φ(a)-1)), a = cutoff."""
    pdf = math.exp(-cutoff**2 / 2) / math.sqrt(2 * math.pi)
    mass = math.erf(cutoff / math.sqrt(2))  # 2Φ(a) - 1
    return std * math.sqrt(1 - 2 * cutoff * pdf / mass)


def test_truncated_std_formula() -> None:
    assert truncated_std(1.0, 3.0) == pytest.approx(0.98658, abs=1e-5)  # tables of the truncated normal


def assert_init(weight: torch.Tensor, std: float, cutoff: float = 3.0) -> None:
    assert weight.std().item() == pytest.approx(truncated_std(std, cutoff), rel=0.03)
    assert weight.abs().max().item() <= cutoff * std
    assert weight.abs().max().item() > 0.9 * cutoff * std  # truncated at the cutoff, not earlier
    assert abs(weight.mean().item()) < 0.05 * std


def test_mitchell_init() -> None:
    config = OLMoConfig(d_model=256, n_layers=3, n_heads=4, mlp_hidden_size=1024, vocab_size=512, eos_token_id=0,
                        weight_tying=False)
    model = OLMo(config)
    assert_init(model.transformer.wte.weight, 1 / 16)  # 1/sqrt(256)
    assert_init(model.lm_head, 1 / 16)
    for i, block in enumerate(model.blocks):
        assert_init(block.att_proj.weight, 1 / 16)
        assert_init(block.ff_proj.weight, 1 / 16)
        assert_init(block.attn_out.weight, 1 / math.sqrt(2 * 256 * (i + 1)))  # layer 0: 1/sqrt(512)
        assert_init(block.ff_out.weight, 1 / math.sqrt(2 * 512 * (i + 1)))  # ff_out takes 1024/2 inputs


def test_normal_init_and_norm_weights(olmo2: dict[str, Any]) -> None:
    config = OLMoConfig(d_model=256, n_layers=2, n_heads=4, mlp_hidden_size=1024, vocab_size=512, eos_token_id=0,
                        weight_tying=False, init_std=0.05, **olmo2)
    model = OLMo(config)
    norms = [name for name, param in model.named_parameters() if param.ndim == 1]
    assert len(norms) == 2 * 4 + 1  # attn, ff, q and k norms of both blocks, and ln_f
    for name, param in model.named_parameters():
        if name in norms:
            assert torch.equal(param, torch.ones_like(param)), name
        else:
            assert_init(param, 0.05)


def test_untruncated_init(byte_config: OLMoConfig) -> None:
    model = OLMo(dataclasses.replace(byte_config, d_model=256, mlp_hidden_size=1024, init_cutoff_factor=None))
    weight = model.blocks[0].ff_proj.weight
    assert weight.std().item() == pytest.approx(1 / 16, rel=0.03)
    assert weight.abs().max().item() > 3 / 16  # 262,144 draws reach beyond 3 std


def test_unwrap_model_finds_the_model_behind_any_wrappers() -> None:
    from olmo_core.nn import unwrap_model

    class Parallel(torch.nn.Module):  # DDP's shape: the wrapped model is its `module`
        def __init__(self, module: torch.nn.Module) -> None:
            super().__init__()
            self.module = module

    plain = torch.nn.Linear(2, 2)
    assert unwrap_model(plain) is plain
    assert unwrap_model(Parallel(plain)) is plain
    assert unwrap_model(torch.compile(Parallel(torch.compile(plain)))) is plain  # torch.compile's `_orig_mod`
    empty = torch.nn.Sequential()  # an empty container is falsy, and still the model behind its wrapper
    assert unwrap_model(Parallel(empty)) is empty
