"""Shared fixtures: the real OLMo tokenizer, a tiny OLMo over its vocabulary, that model saved as an olmo
checkpoint, and a third party's evaluator registered by a test plugin."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
import torch

from olmo_core import hookimpl
from olmo_core.nn.config import OLMoConfig
from olmo_core.nn.model import OLMo
from olmo_core.tokenizer import Tokenizer

from olmo_eval import Evaluation, Evaluator

TINY = OLMoConfig(d_model=32, n_layers=2, n_heads=2, mlp_hidden_size=128, max_sequence_length=512)
"""A two-layer OLMo-1 over the OLMo v1.5 vocabulary (50,280 tokens, 50,304 rows)."""
TINY_OLMO2 = dataclasses.replace(TINY, block="olmo2", norm="rms_norm", norm_eps=1e-6, qk_norm=True, n_heads=4,
                                 n_kv_heads=2, rope_theta=500_000.0, init="normal", weight_tying=False)
"""The OLMo-2 architecture with grouped-query attention, same size."""


@pytest.fixture(autouse=True)
def _threads() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def tiny_model(config: OLMoConfig = TINY, seed: int = 0) -> OLMo:
    """A freshly initialized tiny OLMo in eval mode."""
    torch.manual_seed(seed)
    return OLMo(config).eval()


@pytest.fixture(scope="session")
def model() -> OLMo:
    """:data:`TINY`, seeded."""
    return tiny_model()


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory: pytest.TempPathFactory, tokenizer: Tokenizer) -> Path:
    """:data:`TINY` saved as an olmo checkpoint (``run/checkpoints/step000007``) with its tokenizer."""
    from olmo_core.model_io import save_model
    from olmo_core.plugins import get_host

    _, config = get_host().registry("models").resolve("olmo")
    for f in dataclasses.fields(TINY):
        setattr(config, f.name, getattr(TINY, f.name))
    path = tmp_path_factory.mktemp("run") / "checkpoints" / "step000007"
    return save_model(path, tiny_model(), config, tokenizer=tokenizer, trainer={"step": 7})


@dataclass(kw_only=True)
class SentenceConfig:
    """Options of the third-party evaluator below."""

    text: str = "The quick brown fox jumps over the lazy dog."


class SentenceLoss(Evaluator):
    """A third party's evaluator: the model's mean loss on one sentence (``sentence/loss``)."""

    modes: ClassVar[list[bool]] = []
    """Whether the model was in training mode at each call."""

    def evaluate(self, model: Any, tokenizer: Tokenizer, *, progress: bool = False) -> Evaluation:
        SentenceLoss.modes.append(model.training)
        ids = torch.tensor([tokenizer.encode(self.config.text)], device=next(model.parameters()).device)
        with torch.no_grad():
            logits = model(ids[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits[0].float(), ids[0, 1:])
        return Evaluation(values={"sentence/loss": float(loss)})


class SentencePlugin:
    """Registers ``sentence`` as any plugin package would."""

    @hookimpl
    def olmo_register_evaluators(self, register: Any) -> None:
        register("sentence", SentenceLoss, config=SentenceConfig)


@pytest.fixture
def sentence_evaluator(register_plugin: Any) -> str:
    """The third-party evaluator ``sentence``, registered for one test; its name."""
    register_plugin(SentencePlugin(), "sentence-plugin")
    return "sentence"
