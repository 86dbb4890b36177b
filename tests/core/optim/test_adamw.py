from __future__ import annotations

import pytest
import torch

from olmo_core import build
from olmo_core.optim.adamw import AdamWConfig, param_groups


class Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.wte = torch.nn.Embedding(10, 4)
        self.norm = torch.nn.LayerNorm(4)
        self.proj = torch.nn.Linear(4, 3)


def names(groups: list[dict[str, object]]) -> dict[str, list[str]]:
    return {str(g["group"]): list(g["param_names"]) for g in groups}  # type: ignore[call-overload]


def test_groups_follow_olmo_defaults_and_options() -> None:
    model = Tiny()
    assert names(param_groups(model, AdamWConfig())) == {
        "decay": ["proj.weight"], "no_decay": ["wte.weight", "norm.weight", "norm.bias", "proj.bias"]}
    assert names(param_groups(model, AdamWConfig(decay_embeddings=True, decay_norm_and_bias=True))) == {
        "decay": ["wte.weight", "norm.weight", "norm.bias", "proj.weight", "proj.bias"]}


def test_first_step_matches_the_adamw_formula() -> None:
    torch.manual_seed(0)
    model = Tiny()
    optimizer = build("optimizers", {"_name_": "adamw", "lr": 0.01, "weight_decay": 0.1, "eps": 1e-5}, model=model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    grads = {n: torch.randn_like(p) for n, p in model.named_parameters()}
    for n, p in model.named_parameters():
        p.grad = grads[n].clone()
    optimizer.step()
    for n, p in model.named_parameters():
        # step 1: m_hat = g, v_hat = g^2, so the Adam update is lr * g / (|g| + eps); decay is decoupled.
        decay = 0.1 if n == "proj.weight" else 0.0
        expected = before[n] * (1 - 0.01 * decay) - 0.01 * grads[n] / (grads[n].abs() + 1e-5)
        torch.testing.assert_close(p.detach(), expected, rtol=0, atol=1e-7)
    assert [g["initial_lr"] for g in optimizer.param_groups] == [0.01, 0.01]


def test_bad_betas_are_a_config_error() -> None:
    from olmo_core.errors import ConfigError

    with pytest.raises(ConfigError, match="betas must be two numbers"):
        build("optimizers", {"_name_": "adamw", "betas": [0.9]}, model=Tiny())
