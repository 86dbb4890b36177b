"""Conversion between :class:`~olmo_core.nn.model.OLMo` and transformers' OLMo models.

The OLMo-1 architecture (pre-norm ``block="olmo1"``, non-parametric ``layer_norm`` with eps 1e-5, no
QK-norm) maps to ``OlmoForCausalLM``; the OLMo-2 architecture (``block="olmo2"``, ``rms_norm``, ``qk_norm``,
no ``clip_qkv``) to ``Olmo2ForCausalLM``. Other combinations have no transformers class and raise
``ValueError``; a transformers model of another architecture (GPT-2 ...), or an OLMo one with options olmo lacks,
cannot be imported (:class:`~olmo_core.errors.ConfigError`, before its weights are read by :func:`load_hf`).
Weights map one to one, except that the fused ``att_proj`` splits into ``q/k/v_proj`` and
``ff_proj``'s first half becomes ``up_proj`` and its second half ``gate_proj``.

Vocabulary: transformers' ``vocab_size`` is our padded ``embedding_size`` (50304 for the OLMo tokenizer), as
in AllenAI's own checkpoints. The fields transformers has no place for (our ``vocab_size``, ``init``,
``init_std``, ``init_cutoff_factor``) travel in an extra ``olmo_config`` entry of its config, so that a round
trip restores the same :class:`~olmo_core.nn.config.OLMoConfig`. A checkpoint without it (AllenAI's) gets
``vocab_size`` = its embedding rows; rows short of a multiple of 128 are padded with zeros.

transformers (olmo-core's ``hf`` extra) is imported only inside these functions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from olmo_core.errors import ConfigError, MissingDependencyError
from olmo_core.nn.config import OLMoConfig
from olmo_core.nn.model import OLMo

if TYPE_CHECKING:
    from transformers import PreTrainedModel

__all__ = ["from_hf", "load_hf", "save_hf", "to_hf", "transformers_module"]

_EXTRA_KEY = "olmo_config"
_EXTRA_FIELDS = ("vocab_size", "init", "init_std", "init_cutoff_factor")
_OLMO1_EPS = 1e-5  # transformers' OlmoLayerNorm hard-codes it
_IMPORTABLE = ("olmo imports OLMo (model_type 'olmo', OlmoForCausalLM) and OLMo-2 (model_type 'olmo2', "
               "Olmo2ForCausalLM) models only")


def transformers_module() -> Any:
    """``transformers``, or a one-line error naming the ``olmo-core[hf]`` extra when it is not installed."""
    try:
        import transformers
    except ImportError as exc:
        raise MissingDependencyError("HF interop", distribution="olmo-core", extra="hf") from exc
    return transformers


def _architecture(config: OLMoConfig) -> str:
    """``"olmo"`` or ``"olmo2"``: the transformers model type that computes exactly what ``config`` does."""
    if (config.block, config.norm, config.qk_norm) == ("olmo1", "layer_norm", False):
        if config.norm_eps != _OLMO1_EPS:
            raise ValueError(f"transformers' Olmo fixes the LayerNorm eps at {_OLMO1_EPS}, not {config.norm_eps}")
        return "olmo"
    if (config.block, config.norm, config.qk_norm) == ("olmo2", "rms_norm", True):
        if config.clip_qkv is not None:
            raise ValueError("transformers' Olmo2 has no clip_qkv; set clip_qkv=None to export")
        return "olmo2"
    raise ValueError(f"block={config.block!r}, norm={config.norm!r}, qk_norm={config.qk_norm} has no transformers "
                     f"class: use ('olmo1', 'layer_norm', False) or ('olmo2', 'rms_norm', True)")


def _hf_config(config: OLMoConfig) -> Any:
    transformers = transformers_module()
    kind = _architecture(config)
    fields = dict(
        vocab_size=config.embedding_size, hidden_size=config.d_model, intermediate_size=config.mlp_hidden_size // 2,
        num_hidden_layers=config.n_layers, num_attention_heads=config.n_heads, num_key_value_heads=config.kv_heads,
        hidden_act="silu", max_position_embeddings=config.max_sequence_length, initializer_range=config.init_std,
        pad_token_id=config.pad_token_id, bos_token_id=None, eos_token_id=config.eos_token_id,
        tie_word_embeddings=config.weight_tying, attention_bias=False, attention_dropout=0.0,
        rope_theta=float(config.rope_theta),  # transformers 5 moves it into rope_parameters
        **{_EXTRA_KEY: {name: getattr(config, name) for name in _EXTRA_FIELDS}},
    )
    if kind == "olmo":
        return transformers.OlmoConfig(clip_qkv=config.clip_qkv, **fields)
    return transformers.Olmo2Config(rms_norm_eps=config.norm_eps, **fields)


def _copied(config: OLMoConfig) -> list[tuple[str, str]]:
    """``(ours, theirs)``: the weights that both models hold as they are, under their two names."""
    pairs = {"attn_out": "self_attn.o_proj", "ff_out": "mlp.down_proj"}
    if config.block == "olmo2":
        pairs |= {"q_norm": "self_attn.q_norm", "k_norm": "self_attn.k_norm", "attn_norm": "post_attention_layernorm",
                  "ff_norm": "post_feedforward_layernorm"}
    return [(f"transformer.blocks.{i}.{a}.weight", f"model.layers.{i}.{b}.weight")
            for i in range(config.n_layers) for a, b in pairs.items()] \
        + ([("transformer.ln_f.weight", "model.norm.weight")] if config.block == "olmo2" else [])


def _hf_state_dict(model: OLMo) -> dict[str, torch.Tensor]:
    c = model.config
    ours = model.state_dict()
    wte = ours["transformer.wte.weight"]
    out = {"model.embed_tokens.weight": wte,
           "lm_head.weight": wte if c.weight_tying else ours["transformer.ff_out.weight"]}
    out |= {theirs: ours[name] for name, theirs in _copied(c)}
    for i in range(c.n_layers):
        src, dst = f"transformer.blocks.{i}.", f"model.layers.{i}."
        q, k, v = ours[src + "att_proj.weight"].split(model.blocks[i].fused_dims, dim=0)
        up, gate = ours[src + "ff_proj.weight"].chunk(2, dim=0)
        out |= {dst + "self_attn.q_proj.weight": q, dst + "self_attn.k_proj.weight": k,
                dst + "self_attn.v_proj.weight": v, dst + "mlp.up_proj.weight": up, dst + "mlp.gate_proj.weight": gate}
    return out


def _olmo_state_dict(hf: dict[str, torch.Tensor], config: OLMoConfig) -> dict[str, torch.Tensor]:
    def rows(weight: torch.Tensor) -> torch.Tensor:  # pad an unpadded vocabulary with zero rows
        return torch.cat((weight, weight.new_zeros(config.embedding_size - weight.shape[0], weight.shape[1])))

    out = {"transformer.wte.weight": rows(hf["model.embed_tokens.weight"])}
    if not config.weight_tying:
        out["transformer.ff_out.weight"] = rows(hf["lm_head.weight"])
    out |= {name: hf[theirs] for name, theirs in _copied(config)}
    for i in range(config.n_layers):
        src, dst = f"model.layers.{i}.", f"transformer.blocks.{i}."
        attn, mlp = src + "self_attn.", src + "mlp."
        out |= {dst + "att_proj.weight": torch.cat([hf[attn + f"{p}_proj.weight"] for p in "qkv"]),
                dst + "ff_proj.weight": torch.cat((hf[mlp + "up_proj.weight"], hf[mlp + "gate_proj.weight"]))}
    return out


def to_hf(model: OLMo) -> PreTrainedModel:
    """A transformers ``OlmoForCausalLM`` or ``Olmo2ForCausalLM`` with a copy of ``model``'s weights, in its
    dtype and on its device; its logits equal ``model``'s (to float rounding)."""
    transformers = transformers_module()
    hf_config = _hf_config(model.config)
    cls = transformers.OlmoForCausalLM if hf_config.model_type == "olmo" else transformers.Olmo2ForCausalLM
    weight = model.transformer.wte.weight
    hf_model = cls(hf_config).to(device=weight.device, dtype=weight.dtype)
    hf_model.load_state_dict(_hf_state_dict(model), strict=True)
    return hf_model.eval()


def from_hf(hf_model: PreTrainedModel) -> OLMo:
    """An :class:`OLMo` with a copy of the weights of a transformers ``OlmoForCausalLM`` or
    ``Olmo2ForCausalLM``, in its dtype and on its device."""
    config = _olmo_config(hf_model.config)
    model = OLMo(config).to(device=hf_model.device, dtype=hf_model.dtype)
    model.load_state_dict(_olmo_state_dict(hf_model.state_dict(), config), strict=True)
    return model


def _unsupported_architecture(model_type: Any, architectures: Any, where: str = "") -> ConfigError:
    """The error for a transformers model whose ``model_type`` olmo cannot import (``where``: its directory)."""
    named = ", ".join(map(str, architectures)) if isinstance(architectures, list) and architectures else ""
    return ConfigError(f"cannot import {where + ', ' if where else ''}a transformers "
                       f"{named + ' ' if named else ''}model (model_type {model_type!r}): {_IMPORTABLE}")


def _olmo_config(hf: Any) -> OLMoConfig:
    """The :class:`OLMoConfig` of a transformers OLMo or OLMo-2 config; a :class:`ConfigError` naming what olmo
    cannot import (another architecture, an activation, attention biases, RoPE scaling, no EOS token)."""
    if hf.model_type not in ("olmo", "olmo2"):
        raise _unsupported_architecture(hf.model_type, getattr(hf, "architectures", None))
    olmo2 = hf.model_type == "olmo2"
    if getattr(hf, "hidden_act", "silu") != "silu" or getattr(hf, "attention_bias", False):
        raise ConfigError("cannot import this transformers model: olmo imports only SwiGLU (hidden_act='silu') "
                          "models without attention biases")
    rope = getattr(hf, "rope_parameters", None) or {"rope_theta": hf.rope_theta, **(hf.rope_scaling or {})}  # v4
    if rope.get("rope_type", rope.get("type", "default")) != "default":
        raise ConfigError(f"cannot import this transformers model: its RoPE scaling "
                          f"{rope.get('rope_type', rope.get('type'))!r} is not supported (only the default RoPE is)")
    eos = hf.eos_token_id[0] if isinstance(hf.eos_token_id, list) else hf.eos_token_id
    if eos is None:
        raise ConfigError("cannot import this transformers model: its config has no eos_token_id")
    values: dict[str, Any] = dict(
        d_model=hf.hidden_size, n_layers=hf.num_hidden_layers, n_heads=hf.num_attention_heads,
        n_kv_heads=None if hf.num_key_value_heads == hf.num_attention_heads else hf.num_key_value_heads,
        mlp_hidden_size=2 * hf.intermediate_size, vocab_size=hf.vocab_size,
        max_sequence_length=hf.max_position_embeddings, rope_theta=float(rope["rope_theta"]),
        weight_tying=bool(hf.tie_word_embeddings), init_std=hf.initializer_range,
        eos_token_id=eos, pad_token_id=eos if hf.pad_token_id is None else hf.pad_token_id,
    )
    if olmo2:
        values |= dict(block="olmo2", norm="rms_norm", norm_eps=hf.rms_norm_eps, qk_norm=True, init="normal")
    else:
        values |= dict(block="olmo1", norm="layer_norm", norm_eps=_OLMO1_EPS, qk_norm=False, clip_qkv=hf.clip_qkv)
    values |= {k: v for k, v in (getattr(hf, _EXTRA_KEY, None) or {}).items() if k in _EXTRA_FIELDS}
    config = OLMoConfig(**values)
    if config.embedding_size < hf.vocab_size:
        raise ConfigError(f"olmo_config.vocab_size {config.vocab_size} is smaller than the checkpoint's "
                         f"{hf.vocab_size} embedding rows")
    return config


def save_hf(model: OLMo, directory: str | os.PathLike[str]) -> None:
    """Write ``model`` as a transformers checkpoint (``config.json``, ``model.safetensors``) that
    ``transformers.AutoModelForCausalLM.from_pretrained(directory)`` loads (without transformers' own
    progress bar, which would show even in a log)."""
    bars = transformers_module().utils.logging
    shown = bars.is_progress_bar_enabled()
    bars.disable_progress_bar()
    try:
        to_hf(model).save_pretrained(directory)
    finally:
        if shown:
            bars.enable_progress_bar()


def load_hf(directory: str | os.PathLike[str]) -> OLMo:
    """Read a transformers OLMo or OLMo-2 checkpoint directory (ours or AllenAI's) as an :class:`OLMo`; a model
    that olmo cannot import (:func:`_olmo_config`) is refused from its ``config.json``, before its weights are read."""
    transformers = transformers_module()
    config_file = Path(directory) / "config.json"
    if config_file.is_file():
        raw = json.loads(config_file.read_text())
        if raw.get("model_type") not in ("olmo", "olmo2"):  # also a type that transformers does not know
            raise _unsupported_architecture(raw.get("model_type"), raw.get("architectures"), str(directory))
        _olmo_config(transformers.AutoConfig.from_pretrained(directory))
    return from_hf(transformers.AutoModelForCausalLM.from_pretrained(directory))
