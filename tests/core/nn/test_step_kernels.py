"""The model's hand-written autograd functions (RoPE, SwiGLU) against their formulas, values and gradients."""

from __future__ import annotations

import pytest
import torch

from olmo_core.nn.model import apply_rope, swiglu


def rope_by_complex_numbers(x: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """RoPE as a rotation of the complex numbers ``x1 + i x2`` by ``angles`` (float64)."""
    half = x.shape[-1] // 2
    z = torch.complex(x[..., :half].double(), x[..., half:].double()) * torch.polar(torch.ones_like(angles), angles)
    return torch.cat((z.real, z.imag), dim=-1)


@pytest.mark.parametrize("per_row", [False, True])
def test_rope_rotates_each_pair_and_its_gradient_is_the_inverse_rotation(per_row: bool) -> None:
    generator = torch.Generator().manual_seed(0)
    qkv = torch.randn(2, 6, 3 * 16, generator=generator)
    x = qkv[..., :16].view(2, 6, 2, 8).transpose(1, 2)  # (batch, heads, seq, head_dim), a strided view
    positions = torch.randint(0, 50, (2, 6), generator=generator) if per_row else torch.arange(6).expand(2, 6)
    inv_freq = 1.0 / (10_000 ** (torch.arange(0, 8, 2, dtype=torch.float64) / 8))
    angles = positions[..., None].double() * inv_freq  # (batch, seq, head_dim / 2)
    table = torch.cat((angles, angles), dim=-1)[:, None]  # (batch, 1, seq, head_dim), as the model passes them
    cos, sin = table.cos().float(), table.sin().float()
    if not per_row:
        cos, sin = cos[0, 0], sin[0, 0]

    leaf = x.detach().requires_grad_()
    rotated = apply_rope(leaf, cos, sin)
    expected = rope_by_complex_numbers(x, angles[:, None])
    torch.testing.assert_close(rotated.double(), expected, rtol=0, atol=1e-6)

    grad = torch.randn(rotated.shape, generator=generator)
    rotated.backward(grad)
    # the transpose of a rotation is the rotation by minus the angle
    torch.testing.assert_close(leaf.grad.double(), rope_by_complex_numbers(grad, -angles[:, None]), rtol=0, atol=1e-6)


def test_rope_keeps_the_input_dtype() -> None:
    x = torch.randn(1, 2, 4, 8, dtype=torch.bfloat16)
    angles = torch.rand(4, 8)
    assert apply_rope(x, angles.cos(), angles.sin()).dtype == torch.bfloat16


def test_swiglu_is_silu_of_the_gate_times_up_with_exact_gradients() -> None:
    h = torch.randn(3, 5, 8, dtype=torch.float64, requires_grad=True)
    up, gate = h[..., :4], h[..., 4:]
    torch.testing.assert_close(swiglu(h), gate / (1 + torch.exp(-gate)) * up, rtol=0, atol=1e-12)
    assert torch.autograd.gradcheck(swiglu, (h,))
