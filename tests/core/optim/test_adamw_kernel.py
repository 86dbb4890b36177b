"""Which AdamW kernel ``build_adamw`` picks, and that it updates like torch's per-parameter loop."""

from __future__ import annotations

import torch

from olmo_core import build
from olmo_core.nn import PRESETS
from olmo_core.nn.model import OLMo


def test_cpu_parameters_get_the_fused_kernel_which_steps_like_the_loop() -> None:
    torch.manual_seed(0)
    model = OLMo(PRESETS["olmo-tiny"])
    reference = OLMo(PRESETS["olmo-tiny"])
    reference.load_state_dict(model.state_dict())
    settings = {"_name_": "adamw", "lr": 1e-3, "weight_decay": 0.1, "eps": 1e-5}
    fused = build("optimizers", settings, model=model)
    loop = build("optimizers", {**settings, "fused": False}, model=reference)
    assert [g["fused"] for g in fused.param_groups] == [True, True]
    assert [g["fused"] for g in loop.param_groups] == [False, False]
    generator = torch.Generator().manual_seed(1)
    for _ in range(5):
        for p, q in zip(model.parameters(), reference.parameters(), strict=True):
            p.grad = torch.randn(p.shape, generator=generator) * 1e-2
            q.grad = p.grad.clone()
        fused.step()
        loop.step()
    for (name, p), q in zip(model.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=1e-7, msg=name)


def test_an_explicit_choice_is_kept() -> None:
    model = torch.nn.Linear(3, 2)
    optimizer = build("optimizers", {"_name_": "adamw", "fused": False}, model=model)
    assert optimizer.param_groups[0]["fused"] is False
