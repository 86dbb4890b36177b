"""The model's public seam for scorers: ``OLMo.hidden_states`` (final normalized hidden states) and
``OLMo.logits`` (the LM head). ``forward`` is the two composed, so a scorer that picks positions, sets its own
RoPE positions or its own attention mask gets exactly the numbers of a forward pass without touching the
model's modules (``transformer``, ``rope``, blocks)."""

from __future__ import annotations

import torch

from olmo_core.nn.lm_loss import IGNORE
from olmo_core.nn.model import OLMo, document_mask


def test_logits_of_hidden_states_is_forward(model: OLMo, text_ids: torch.Tensor) -> None:
    with torch.no_grad():
        hidden = model.hidden_states(text_ids)
        logits = model.logits(hidden)
        full = model(text_ids)
    assert hidden.shape == (*text_ids.shape, model.config.d_model)
    assert torch.equal(logits, full)


def test_logits_of_picked_positions_equal_forward(model: OLMo, text_ids: torch.Tensor) -> None:
    rows, cols = torch.tensor([0, 0, 1, 1]), torch.tensor([0, 17, 40, 95])
    with torch.no_grad():
        picked = model.logits(model.hidden_states(text_ids)[rows, cols])
        full = model(text_ids)
    torch.testing.assert_close(picked, full[rows, cols], rtol=0, atol=1e-5)


def test_default_positions_and_mask_are_plain_causal(model: OLMo, text_ids: torch.Tensor) -> None:
    positions = torch.arange(text_ids.shape[1]).expand_as(text_ids)
    causal = torch.ones(text_ids.shape[1], text_ids.shape[1], dtype=torch.bool).tril()
    with torch.no_grad():
        plain = model.hidden_states(text_ids)
        explicit = model.hidden_states(text_ids, positions=positions, attention_mask=causal[None, None])
    torch.testing.assert_close(explicit, plain, rtol=0, atol=1e-5)


def test_shifted_positions_keep_the_hidden_states(model: OLMo, text_ids: torch.Tensor) -> None:
    """RoPE makes attention depend on distances only: a scorer may place a sequence anywhere."""
    positions = torch.arange(text_ids.shape[1]).expand_as(text_ids) + torch.tensor([[7], [300]])
    with torch.no_grad():
        torch.testing.assert_close(model.hidden_states(text_ids, positions=positions), model.hidden_states(text_ids),
                                   rtol=0, atol=1e-4)


def test_attention_mask_is_how_forward_masks_documents(model: OLMo, text_ids: torch.Tensor) -> None:
    doc_lens = torch.tensor([[30, 50, 16], [96, 0, 0]])
    mask = document_mask(doc_lens, text_ids.shape[1])
    with torch.no_grad():
        assert torch.equal(model.logits(model.hidden_states(text_ids, attention_mask=mask)),
                           model(text_ids, doc_lens=doc_lens))


def test_new_cache_is_the_cache_forward_returns(model: OLMo, text_ids: torch.Tensor) -> None:
    with torch.no_grad():
        logits, cache = model(text_ids[:, :50], use_cache=True)
        new_cache: list[tuple[torch.Tensor, torch.Tensor]] = []
        hidden = model.hidden_states(text_ids[:, 50:], past_key_values=cache, new_cache=new_cache)
        full = model(text_ids)
    torch.testing.assert_close(logits, full[:, :50], rtol=0, atol=1e-5)
    torch.testing.assert_close(model.logits(hidden), full[:, 50:], rtol=0, atol=1e-5)
    assert len(new_cache) == model.config.n_layers
    assert new_cache[0][0].shape[2] == text_ids.shape[1]


def test_label_log_probabilities_come_from_the_same_hidden_states(model: OLMo, text_ids: torch.Tensor) -> None:
    labels = torch.full_like(text_ids, IGNORE)
    labels[:, 10:-1] = text_ids[:, 11:]
    with torch.no_grad():
        logps = model(text_ids, labels=labels, label_logps=True)
        reference = torch.log_softmax(model.logits(model.hidden_states(text_ids)).double(), dim=-1)
    labelled = labels != IGNORE
    expected = reference[labelled].gather(1, labels[labelled][:, None])[:, 0]
    torch.testing.assert_close(logps[labelled].double(), expected, rtol=0, atol=1e-5)
    assert (logps[~labelled] == 0).all()
