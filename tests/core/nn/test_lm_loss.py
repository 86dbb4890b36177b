"""The chunked LM-head cross-entropy against the plain logits path, computed in float64."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from olmo_core.nn.config import OLMoConfig
from olmo_core.nn.lm_loss import IGNORE, SAFE_LOGIT, linear_cross_entropy, linear_label_logps
from olmo_core.nn.model import OLMo

from tests.core.nn.conftest import VARIANTS


def random_inputs(batch: int, length: int, width: int, vocab: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Float64 hidden states and head weights (both wanting gradients) and labels, drawn in that order."""
    hidden = torch.randn(batch, length, width, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(vocab, width, dtype=torch.float64, requires_grad=True)
    return hidden, weight, torch.randint(0, vocab, (batch, length))


def reference(hidden: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor,
              z_loss: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ce sum, z sum)`` from the full logits: ``F.cross_entropy`` and an explicit logsumexp."""
    logits = (hidden @ weight.T).reshape(-1, weight.shape[0])
    flat = labels.reshape(-1)
    ce = F.cross_entropy(logits, flat, ignore_index=IGNORE, reduction="sum")
    z = torch.logsumexp(logits[flat != IGNORE], dim=-1).pow(2).sum()
    return ce, z


@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
@pytest.mark.parametrize("z_loss", [0.0, 1e-2])
def test_values_and_gradients_equal_the_full_logits(chunk: int, z_loss: float) -> None:
    torch.manual_seed(0)
    hidden, weight, labels = random_inputs(3, 41, 16, 90)
    labels[0, :9] = IGNORE  # a masked prompt
    labels[:, -1] = IGNORE  # the last position predicts nothing

    sums = linear_cross_entropy(hidden, weight, labels, z_loss=z_loss, chunk_tokens=chunk)
    (2.5 * sums.total).backward()
    got = hidden.grad.clone(), weight.grad.clone()
    hidden.grad = weight.grad = None
    ce, z = reference(hidden, weight, labels, z_loss)
    (2.5 * (ce + z_loss * z)).backward()

    torch.testing.assert_close(sums.ce, ce.detach(), rtol=1e-12, atol=0)
    assert (sums.z is None) == (z_loss == 0)
    if sums.z is not None:
        torch.testing.assert_close(sums.z, z.detach(), rtol=1e-12, atol=0)
    torch.testing.assert_close(got[0], hidden.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(got[1], weight.grad, rtol=1e-10, atol=1e-12)
    assert got[0][0, :9].abs().max() == 0  # unlabelled positions get no gradient
    assert not sums.ce.requires_grad


@pytest.mark.parametrize("z_loss", [0.0, 1.0])
@pytest.mark.parametrize(("scales", "rows_below"), [((0.1, 0.2), 48), ((0.1, 8.0), 24), ((6.0, 8.0), 0)],
                         ids=["small", "mixed", "large"])
def test_rows_with_large_logits_are_shifted_by_their_maximum(scales: tuple[float, float], rows_below: int,
                                                              z_loss: float) -> None:
    """Rows whose logits may exceed ``SAFE_LOGIT`` take the exponentials after the row maximum, the others without
    a shift; both agree with the full logits (labels at the largest and the smallest logit of some rows)."""
    torch.manual_seed(4)
    hidden = torch.randn(2, 24, 16, dtype=torch.float64)
    hidden[:, ::2] *= scales[0]
    hidden[:, 1::2] *= scales[1]
    hidden.requires_grad_()
    weight = torch.randn(50, 16, dtype=torch.float64, requires_grad=True)
    with torch.no_grad():
        logits = hidden @ weight.T
        bound = hidden.norm(dim=-1) * weight.norm(dim=-1).max()
    labels = torch.randint(0, 50, (2, 24))
    labels[0, :4], labels[1, :4] = logits[0, :4].argmax(-1), logits[1, :4].argmin(-1)
    labels[1, 4] = IGNORE
    assert int((bound <= SAFE_LOGIT).sum()) == rows_below

    sums = linear_cross_entropy(hidden, weight, labels, z_loss=z_loss, chunk_tokens=5)
    sums.total.backward()
    got = hidden.grad.clone(), weight.grad.clone()
    hidden.grad = weight.grad = None
    ce, z = reference(hidden, weight, labels, z_loss)
    (ce + z_loss * z).backward()
    torch.testing.assert_close(sums.total, (ce + z_loss * z).detach(), rtol=1e-12, atol=0)
    torch.testing.assert_close(got[0], hidden.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(got[1], weight.grad, rtol=1e-10, atol=1e-12)


def test_float32_logits_beyond_the_exponential_range_agree_with_float64() -> None:
    """Logits beyond +-200 (``exp`` of which overflows fp32) in some rows, small ones in others, in fp32."""
    torch.manual_seed(5)
    hidden, weight = torch.randn(2, 40, 32), torch.randn(3000, 32) * 0.2
    hidden[0] *= 60.0
    labels = torch.randint(0, 3000, (2, 40))
    labels[1, :7] = IGNORE
    hidden.requires_grad_()
    weight.requires_grad_()
    sums = linear_cross_entropy(hidden, weight, labels, z_loss=1e-4, chunk_tokens=16)
    sums.total.backward()
    h64, w64 = hidden.detach().double().requires_grad_(), weight.detach().double().requires_grad_()
    ce, z = reference(h64, w64, labels, 1e-4)
    (ce + 1e-4 * z).backward()
    assert float((h64 @ w64.T).detach().abs().max()) > 200
    ce, z = ce.detach(), z.detach()
    assert abs(float(sums.ce) - float(ce)) / float(ce) < 1e-6
    assert abs(float(sums.z) - float(z)) / float(z) < 1e-6
    torch.testing.assert_close(hidden.grad.double(), h64.grad, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(weight.grad.double(), w64.grad, rtol=1e-4, atol=1e-5)


def test_calls_of_other_shapes_in_between_change_no_result() -> None:
    """The chunk-logits workspace kept between calls: larger and smaller vocabularies and chunks in turn, each
    equal to its full-logits reference, and the first call's outputs untouched by the later ones."""
    torch.manual_seed(6)
    results = []
    for vocab, chunk in [(60, 9), (300, 17), (40, 3), (60, 9)]:
        hidden, weight, labels = random_inputs(2, 19, 8, vocab)
        sums = linear_cross_entropy(hidden, weight, labels, chunk_tokens=chunk)
        sums.total.backward()
        logps = linear_label_logps(hidden.detach(), weight.detach(), labels, chunk_tokens=chunk)
        results.append((hidden, weight, labels, sums.ce, hidden.grad, weight.grad, logps))
    for hidden, weight, labels, ce, grad_hidden, grad_weight, logps in results:
        h, w = hidden.detach().requires_grad_(), weight.detach().requires_grad_()
        expected, _ = reference(h, w, labels, 0.0)
        expected.backward()
        torch.testing.assert_close(ce, expected.detach(), rtol=1e-12, atol=0)
        torch.testing.assert_close(grad_hidden, h.grad, rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(grad_weight, w.grad, rtol=1e-10, atol=1e-12)
        full = torch.log_softmax(h.detach() @ w.detach().T, dim=-1).gather(-1, labels[..., None])[..., 0]
        torch.testing.assert_close(logps, full, rtol=1e-12, atol=1e-12)


def test_a_call_under_inference_mode_leaves_training_calls_working() -> None:
    torch.manual_seed(8)
    hidden, weight, labels = random_inputs(1, 13, 8, 20_000)
    with torch.inference_mode():  # a larger chunk buffer than any other test's: made under inference mode
        logps = linear_label_logps(hidden, weight, labels, chunk_tokens=64)
        inferred = linear_cross_entropy(hidden, weight, labels, chunk_tokens=64).ce
    sums = linear_cross_entropy(hidden, weight, labels, chunk_tokens=64)
    sums.total.backward()
    ce, _ = reference(hidden.detach(), weight.detach(), labels, 0.0)
    torch.testing.assert_close(sums.ce, ce, rtol=1e-12, atol=0)
    torch.testing.assert_close(inferred, ce, rtol=1e-12, atol=0)
    full = torch.log_softmax(hidden.detach() @ weight.detach().T, dim=-1).gather(-1, labels[..., None])[..., 0]
    torch.testing.assert_close(logps, full, rtol=1e-12, atol=1e-12)


def test_a_retained_graph_backpropagates_twice_unless_another_call_took_its_buffer() -> None:
    torch.manual_seed(7)
    hidden, weight, labels = random_inputs(2, 11, 8, 30)
    sums = linear_cross_entropy(hidden, weight, labels, chunk_tokens=4)
    sums.total.backward(retain_graph=True)
    sums.total.backward()
    got = hidden.grad.clone(), weight.grad.clone()
    hidden.grad = weight.grad = None
    ce, _ = reference(hidden, weight, labels, 0.0)
    (2 * ce).backward()
    torch.testing.assert_close(got[0], hidden.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(got[1], weight.grad, rtol=1e-10, atol=1e-12)

    sums = linear_cross_entropy(hidden, weight, labels, chunk_tokens=4)
    sums.total.backward(retain_graph=True)
    linear_cross_entropy(hidden, weight, labels)  # takes the gradient buffer the first call gave back
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):  # autograd's version check
        sums.total.backward()


def test_float32_agrees_with_float64() -> None:
    torch.manual_seed(1)
    hidden, weight = torch.randn(2, 64, 32), torch.randn(5000, 32) * 0.2
    labels = torch.randint(0, 5000, (2, 64))
    ce, _ = reference(hidden.double(), weight.double(), labels, 0.0)
    got = linear_cross_entropy(hidden, weight, labels).ce
    assert got.dtype == torch.float32
    assert abs(float(got) - float(ce)) / float(ce) < 1e-6


def test_nothing_labelled_gives_zero_loss_and_zero_gradients() -> None:
    hidden = torch.randn(1, 5, 8, requires_grad=True)
    weight = torch.randn(20, 8, requires_grad=True)
    sums = linear_cross_entropy(hidden, weight, torch.full((1, 5), IGNORE))
    sums.total.backward()
    assert float(sums.ce) == 0.0
    assert hidden.grad.abs().max() == 0 and weight.grad.abs().max() == 0


def test_without_gradients_only_values_are_computed() -> None:
    hidden, weight = torch.randn(1, 6, 8), torch.randn(20, 8)
    labels = torch.randint(0, 20, (1, 6))
    with torch.no_grad():
        sums = linear_cross_entropy(hidden, weight, labels, chunk_tokens=4)
    torch.testing.assert_close(sums.ce, reference(hidden, weight, labels, 0.0)[0], rtol=1e-6, atol=0)


def test_bfloat16_autocast_runs_matmuls_in_bfloat16_and_keeps_gradient_dtypes() -> None:
    torch.manual_seed(2)
    hidden = torch.randn(2, 32, 16, requires_grad=True)
    weight = torch.randn(300, 16, requires_grad=True)
    labels = torch.randint(0, 300, (2, 32))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        sums = linear_cross_entropy(hidden, weight, labels, chunk_tokens=20)
    sums.total.backward()
    assert sums.ce.dtype == torch.float32
    assert hidden.grad.dtype == torch.float32 and weight.grad.dtype == torch.float32
    h64, w64 = hidden.detach().double().requires_grad_(), weight.detach().double().requires_grad_()
    ce, _ = reference(h64, w64, labels, 0.0)
    ce.backward()
    ce = ce.detach()
    exact = float(linear_cross_entropy(hidden.detach(), weight.detach(), labels).ce)
    assert abs(float(sums.ce) - float(ce)) / float(ce) < 2e-2  # bf16 inputs: percent-level agreement
    for got, expected in [(hidden.grad, h64.grad), (weight.grad, w64.grad)]:
        assert float((got.double() - expected).norm() / expected.norm()) < 2e-2
    assert float(sums.ce) != exact  # the matmul really ran in bf16


def test_shape_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="do not match"):
        linear_cross_entropy(torch.randn(1, 5, 8), torch.randn(20, 8), torch.zeros(1, 4, dtype=torch.long))


@pytest.mark.parametrize("chunk", [1, 5, 1000])
def test_label_logps_and_their_gradients_equal_the_full_log_softmax(chunk: int) -> None:
    torch.manual_seed(3)
    hidden, weight, labels = random_inputs(4, 23, 16, 70)
    labels[:, :6] = IGNORE
    labels[2] = IGNORE  # a row with nothing labelled
    row_weights = torch.tensor([1.0, -2.0, 3.0, 0.5], dtype=torch.float64)  # like DPO's per-sequence terms

    logps = linear_label_logps(hidden, weight, labels, chunk_tokens=chunk)
    (logps.sum(dim=-1) * row_weights).sum().backward()
    got = hidden.grad.clone(), weight.grad.clone()
    hidden.grad = weight.grad = None
    full = torch.log_softmax(hidden @ weight.T, dim=-1)
    mask = labels != IGNORE
    expected = full.gather(-1, labels.clamp(min=0)[..., None])[..., 0] * mask
    (expected.sum(dim=-1) * row_weights).sum().backward()

    assert logps.shape == labels.shape and float(logps.detach()[~mask].abs().max()) == 0.0
    torch.testing.assert_close(logps, expected.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got[0], hidden.grad, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(got[1], weight.grad, rtol=1e-10, atol=1e-12)


def test_model_label_logps_equal_its_logits(text_ids: torch.Tensor) -> None:
    model = OLMo(VARIANTS["olmo2-untied"]).double()
    labels = torch.nn.functional.pad(text_ids[:, 1:], (0, 1), value=IGNORE)
    with torch.no_grad():
        logps = model(text_ids, labels=labels, label_logps=True)
        full = torch.log_softmax(model(text_ids), dim=-1)
    expected = full[:, :-1].gather(-1, labels[:, :-1, None])[..., 0]
    torch.testing.assert_close(logps[:, :-1], expected, rtol=1e-12, atol=1e-12)
    assert float(logps[:, -1].abs().max()) == 0.0


def test_model_loss_equals_cross_entropy_of_its_logits(variant: OLMoConfig, text_ids: torch.Tensor) -> None:
    model = OLMo(variant).double()
    labels = torch.nn.functional.pad(text_ids[:, 1:], (0, 1), value=IGNORE)
    sums = model(text_ids, labels=labels, z_loss=1e-4)
    sums.total.backward()
    fused = {name: p.grad.clone() for name, p in model.named_parameters()}
    model.zero_grad()
    logits = model(text_ids)
    ce, z = reference(logits, torch.eye(logits.shape[-1], dtype=logits.dtype), labels, 1e-4)
    (ce + 1e-4 * z).backward()
    torch.testing.assert_close(sums.ce, ce.detach(), rtol=1e-10, atol=0)
    for name, p in model.named_parameters():
        torch.testing.assert_close(fused[name], p.grad, rtol=1e-8, atol=1e-10, msg=name)
    with pytest.raises(ValueError, match="use_cache"):
        model(text_ids, labels=labels, use_cache=True)
