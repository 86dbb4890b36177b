"""Shared fixtures: small model shapes of every architecture variant, and real English text as byte tokens."""

from __future__ import annotations

import dataclasses
import heapq
from typing import Any

import pytest
import torch

from olmo_core.nn.config import OLMoConfig
from olmo_core.nn.model import OLMo

BYTES = OLMoConfig(d_model=64, n_layers=2, n_heads=4, mlp_hidden_size=256, vocab_size=256, eos_token_id=0,
                   pad_token_id=1, max_sequence_length=128)
"""A two-layer OLMo-1 over UTF-8 bytes (vocabulary 256, already a multiple of 128)."""

OLMO2: dict[str, Any] = dict(block="olmo2", norm="rms_norm", norm_eps=1e-6, qk_norm=True, rope_theta=500_000.0, init="normal")

VARIANTS = {
    "olmo1-tied": BYTES,
    "olmo1-untied-clip": dataclasses.replace(BYTES, weight_tying=False, clip_qkv=0.5),
    "olmo2-tied": dataclasses.replace(BYTES, **OLMO2),
    "olmo2-untied": dataclasses.replace(BYTES, weight_tying=False, **OLMO2),
    "olmo2-gqa": dataclasses.replace(BYTES, weight_tying=False, n_kv_heads=2, **OLMO2),
}
"""The architecture variants every model-level test runs on."""


@pytest.fixture
def byte_config() -> OLMoConfig:
    """:data:`BYTES`: a two-layer OLMo-1 over UTF-8 bytes."""
    return BYTES


@pytest.fixture
def olmo2() -> dict[str, Any]:
    """The fields that turn an OLMo-1 config into OLMo-2 (``dataclasses.replace(config, **olmo2)``)."""
    return dict(OLMO2)


@pytest.fixture(params=list(VARIANTS), ids=list(VARIANTS))
def variant(request: pytest.FixtureRequest) -> OLMoConfig:
    """Each of :data:`VARIANTS` in turn."""
    return VARIANTS[request.param]


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(1234)


@pytest.fixture
def text_ids() -> torch.Tensor:
    """Two rows of 96 UTF-8 bytes of real English prose shipped with Python (François Pinard's essay on heaps
    in ``heapq``, whitespace collapsed), as token ids below 256."""
    data = " ".join(heapq.__about__.split()).encode()
    assert len(data) > 4000 and max(data) > 127  # long prose with a non-ASCII character (the "ç")
    return torch.tensor([list(data[100:196]), list(data[2000:2096])])


@pytest.fixture
def model(variant: OLMoConfig) -> OLMo:
    """A freshly initialized model of ``variant`` whose norm weights (if any) are random, so that a mix-up of
    norms cannot go unnoticed."""
    model = OLMo(variant)
    with torch.no_grad():
        for param in model.parameters():
            if param.ndim == 1:  # the norm weights
                param.uniform_(0.5, 1.5)
    return model
