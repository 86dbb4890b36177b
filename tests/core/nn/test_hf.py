"""transformers interop: same logits as OlmoForCausalLM / Olmo2ForCausalLM, bit-identical round trips."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import transformers

from olmo_core.errors import ConfigError, MissingDependencyError
from olmo_core.nn.config import OLMoConfig
from olmo_core.nn.hf import from_hf, load_hf, save_hf, to_hf
from olmo_core.nn.model import OLMo


def assert_same_weights(a: OLMo, b: OLMo) -> None:
    left, right = a.state_dict(), b.state_dict()
    assert left.keys() == right.keys()
    for name in left:
        assert left[name].dtype == right[name].dtype and torch.equal(left[name], right[name]), name


def test_export_gives_the_same_logits(model: OLMo, text_ids: torch.Tensor) -> None:
    hf_model = to_hf(model)
    expected = transformers.Olmo2ForCausalLM if model.config.block == "olmo2" else transformers.OlmoForCausalLM
    assert type(hf_model) is expected
    assert hf_model.config.vocab_size == model.config.embedding_size
    assert hf_model.config.num_key_value_heads == model.config.kv_heads
    with torch.no_grad():
        ours, theirs = model(text_ids), hf_model(text_ids).logits
    torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-4)


def test_import_back_is_bit_identical(model: OLMo) -> None:
    back = from_hf(to_hf(model))
    assert back.config == model.config
    assert_same_weights(back, model)


def test_the_weight_mapping(byte_config: OLMoConfig, olmo2: dict[str, Any]) -> None:
    model = OLMo(dataclasses.replace(byte_config, n_kv_heads=2, weight_tying=False, **olmo2))
    theirs = to_hf(model).state_dict()
    block = model.blocks[1]
    q, k, v = block.att_proj.weight.split([64, 32, 32])  # d_model 64; 2 kv heads of 16
    up, gate = block.ff_proj.weight.split([128, 128])
    for name, weight in {"self_attn.q_proj": q, "self_attn.k_proj": k, "self_attn.v_proj": v,
                         "self_attn.o_proj": block.attn_out.weight, "mlp.up_proj": up, "mlp.gate_proj": gate,
                         "mlp.down_proj": block.ff_out.weight, "self_attn.q_norm": block.q_norm.weight,
                         "self_attn.k_norm": block.k_norm.weight, "post_attention_layernorm": block.attn_norm.weight,
                         "post_feedforward_layernorm": block.ff_norm.weight}.items():
        assert torch.equal(theirs[f"model.layers.1.{name}.weight"], weight), name
    assert torch.equal(theirs["lm_head.weight"], model.lm_head)
    assert torch.equal(theirs["model.norm.weight"], model.state_dict()["transformer.ln_f.weight"])


def test_clip_qkv_is_exported(byte_config: OLMoConfig, text_ids: torch.Tensor) -> None:
    model = OLMo(dataclasses.replace(byte_config, clip_qkv=0.5))
    hf_model = to_hf(model)
    assert hf_model.config.clip_qkv == 0.5
    hf_model.config.clip_qkv = None  # the clip is active on these inputs: removing it changes the logits
    with torch.no_grad():
        assert (hf_model(text_ids).logits - model(text_ids)).abs().max() > 1e-3


def test_save_and_load_a_transformers_directory(model: OLMo, text_ids: torch.Tensor, tmp_path: Path) -> None:
    save_hf(model, tmp_path)
    assert (tmp_path / "model.safetensors").is_file() and not list(tmp_path.glob("*.bin"))
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == ("olmo2" if model.config.block == "olmo2" else "olmo")
    assert saved["rope_parameters"]["rope_theta"] == model.config.rope_theta
    hf_model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(hf_model(text_ids).logits, model(text_ids), rtol=0, atol=1e-4)
    loaded = load_hf(tmp_path)
    assert loaded.config == model.config
    assert_same_weights(loaded, model)


def test_a_checkpoint_without_our_config_is_padded(byte_config: OLMoConfig, text_ids: torch.Tensor) -> None:
    hf_config = transformers.OlmoConfig(
        vocab_size=250, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=128, rope_parameters={"rope_type": "default", "rope_theta": 10_000.0},
        pad_token_id=1, eos_token_id=0, tie_word_embeddings=False)
    hf_model = transformers.OlmoForCausalLM(hf_config).eval()
    model = from_hf(hf_model)
    assert (model.config.vocab_size, model.config.embedding_size, model.config.init) == (250, 256, "mitchell")
    assert model.config == dataclasses.replace(byte_config, vocab_size=250, weight_tying=False)
    assert not model.transformer.wte.weight[250:].any()
    with torch.no_grad():
        theirs, ours = hf_model(text_ids).logits, model(text_ids)
    torch.testing.assert_close(ours[..., :250], theirs, rtol=0, atol=1e-4)


@pytest.mark.parametrize(("changes", "message"), [
    ({"block": "olmo2", "norm": "rms_norm", "qk_norm": True, "clip_qkv": 8.0}, "clip_qkv"),
    ({"block": "olmo2"}, "no transformers class"),
    ({"qk_norm": True}, "no transformers class"),
    ({"norm_eps": 1e-6}, "eps"),
])
def test_architectures_transformers_cannot_express(byte_config: OLMoConfig, changes: dict[str, object],
                                                   message: str) -> None:
    model = OLMo(dataclasses.replace(byte_config, **changes))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=message):
        to_hf(model)


def test_missing_transformers(byte_config: OLMoConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError, match=r"HF interop needs olmo-core\[hf\]"):
        to_hf(OLMo(byte_config))


def _gpt2() -> Any:
    return transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=64,
                                                                n_positions=16))


def test_another_architecture_is_refused_naming_what_can_be_imported(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A GPT-2 directory is refused in one line from its config.json, before its weights are read."""
    supported = ("olmo imports OLMo (model_type 'olmo', OlmoForCausalLM) and OLMo-2 (model_type 'olmo2', "
                 "Olmo2ForCausalLM) models only")
    with pytest.raises(ConfigError) as converted:
        from_hf(_gpt2())
    assert str(converted.value) == f"cannot import a transformers model (model_type 'gpt2'): {supported}"
    _gpt2().save_pretrained(tmp_path / "gpt2")

    def read_weights(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the weights were read")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", read_weights)
    with pytest.raises(ConfigError) as loaded:
        load_hf(tmp_path / "gpt2")
    assert str(loaded.value) == (f"cannot import {tmp_path / 'gpt2'}, a transformers GPT2LMHeadModel model "
                                 f"(model_type 'gpt2'): {supported}")


def test_an_olmo_model_with_options_olmo_lacks_is_refused_before_its_weights_are_read(
        byte_config: OLMoConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_hf(OLMo(byte_config), tmp_path / "hf")
    config = json.loads((tmp_path / "hf" / "config.json").read_text())
    (tmp_path / "hf" / "config.json").write_text(json.dumps(config | {"hidden_act": "gelu"}))
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", None)
    with pytest.raises(ConfigError, match=r"olmo imports only SwiGLU \(hidden_act='silu'\) models"):
        load_hf(tmp_path / "hf")
