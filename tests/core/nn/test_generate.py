"""Generation: the KV cache changes nothing, sampling is seeded, top-p keeps the nucleus, EOS stops rows."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from olmo_core.nn.config import OLMoConfig
from olmo_core.nn.generate import generate, sample_next
from olmo_core.nn.model import OLMo


def test_greedy_with_and_without_cache_agree(model: OLMo, text_ids: torch.Tensor) -> None:
    prompt = text_ids[:, :24]
    cached = generate(model, prompt, max_new_tokens=20, use_cache=True)
    uncached = generate(model, prompt, max_new_tokens=20, use_cache=False)
    assert cached.shape == (2, 44)
    assert torch.equal(cached[:, :24], prompt)
    assert torch.equal(cached, uncached)


def test_greedy_picks_the_argmax_of_the_full_forward(model: OLMo, text_ids: torch.Tensor) -> None:
    tokens = generate(model, text_ids[:1, :10], max_new_tokens=6)
    with torch.no_grad():
        logits = model(tokens[:, :-1])
    assert torch.equal(tokens[0, 10:], logits[0, 9:].argmax(dim=-1))


def test_seeded_top_p_sampling_is_reproducible(byte_config: OLMoConfig, text_ids: torch.Tensor) -> None:
    model = OLMo(byte_config)

    def sample(seed: int, use_cache: bool = True) -> torch.Tensor:
        return generate(model, text_ids[:, :8], max_new_tokens=24, temperature=1.0, top_p=0.9, use_cache=use_cache,
                        generator=torch.Generator().manual_seed(seed))

    first = sample(7)
    assert torch.equal(first, sample(7))
    assert torch.equal(first, sample(7, use_cache=False))
    assert not torch.equal(first, sample(8))


def test_a_tiny_nucleus_is_greedy(model: OLMo, text_ids: torch.Tensor) -> None:
    greedy = generate(model, text_ids[:, :8], max_new_tokens=12)
    nucleus = generate(model, text_ids[:, :8], max_new_tokens=12, temperature=1.0, top_p=1e-6,
                       generator=torch.Generator().manual_seed(0))
    assert torch.equal(greedy, nucleus)


def test_top_p_samples_only_the_nucleus_in_proportion() -> None:
    logits = torch.tensor([[0.5, 0.3, 0.15, 0.05]]).log().expand(4000, 4)
    draws = sample_next(logits, temperature=1.0, top_p=0.75, generator=torch.Generator().manual_seed(0))
    # 0.5 < 0.75 <= 0.5 + 0.3: the nucleus is {0, 1}, renormalized to 0.625 / 0.375
    assert set(draws.tolist()) == {0, 1}
    assert (draws == 0).float().mean().item() == pytest.approx(0.625, abs=0.03)
    everything = sample_next(logits, temperature=1.0, top_p=1.0, generator=torch.Generator().manual_seed(0))
    assert set(everything.tolist()) == {0, 1, 2, 3}


def test_temperature_sharpens() -> None:
    logits = torch.tensor([[2.0, 1.0, 0.0]]).expand(4000, 3)
    cold = sample_next(logits, temperature=0.1, top_p=1.0, generator=torch.Generator().manual_seed(0))
    assert (cold == 0).float().mean().item() > 0.99  # e^10 : e^0 odds


def test_eos_stops_each_row_and_pads_it(model: OLMo, text_ids: torch.Tensor) -> None:
    free = generate(model, text_ids, max_new_tokens=8)
    eos = int(free[0, 96 + 2])  # row 0 emits this by its third new token
    stopped = generate(model, text_ids, max_new_tokens=8, eos_token_id=eos)
    expected, lengths = free.clone(), []
    for row in expected:  # keep each row up to its first EOS, pad the rest
        hits = (row[96:] == eos).nonzero()
        end = int(hits[0]) + 1 if len(hits) else 8
        row[96 + end:] = model.config.pad_token_id
        lengths.append(end)
    assert lengths[0] <= 3
    assert torch.equal(stopped, expected[:, :96 + max(lengths)])


def test_generation_stops_when_all_rows_ended(model: OLMo, text_ids: torch.Tensor) -> None:
    first = int(generate(model, text_ids[:1], max_new_tokens=1)[0, -1])
    out = generate(model, text_ids[:1], max_new_tokens=10, eos_token_id=first)
    assert out.shape == (1, 97)


def test_padded_vocabulary_rows_are_never_generated(byte_config: OLMoConfig, text_ids: torch.Tensor) -> None:
    model = OLMo(dataclasses.replace(byte_config, vocab_size=200, weight_tying=False))  # 256 rows
    with torch.no_grad():
        model.lm_head[200:] = 10.0  # the padding would win every time
    greedy = generate(model, text_ids[:, :8], max_new_tokens=10)
    sampled = generate(model, text_ids[:, :8], max_new_tokens=10, temperature=2.0,
                       generator=torch.Generator().manual_seed(0))
    assert greedy[:, 8:].max() < 200 and sampled[:, 8:].max() < 200


@pytest.mark.parametrize("bad", [{"temperature": -1.0}, {"top_p": 0.0}, {"top_p": 1.5}, {"max_new_tokens": -1}])
def test_invalid_arguments(byte_config: OLMoConfig, bad: dict[str, float]) -> None:
    kwargs: dict = {"max_new_tokens": 1, **bad}
    with pytest.raises(ValueError):
        generate(OLMo(byte_config), torch.zeros(1, 2, dtype=torch.long), **kwargs)


def test_context_length_reads_olmo_transformers_and_mpt_names() -> None:
    from types import SimpleNamespace

    from olmo_core.nn.config import context_length

    assert context_length(SimpleNamespace(config=SimpleNamespace(max_sequence_length=512))) == 512
    assert context_length(SimpleNamespace(config=SimpleNamespace(n_positions=1024))) == 1024
    assert context_length(SimpleNamespace(config=SimpleNamespace(max_seq_len=4096, max_position_embeddings=None))) == 4096
    assert context_length(SimpleNamespace(config=SimpleNamespace())) == 2048  # an MPT-like config without them


def test_a_stop_rule_ends_rows_as_eos_does(model: OLMo, text_ids: torch.Tensor) -> None:
    free = generate(model, text_ids, max_new_tokens=8)
    marker = int(free[1, 96 + 1])  # row 1 writes this as its second new token

    def stop(new: torch.Tensor) -> torch.Tensor:
        assert new.shape[1] >= 1
        return (new == marker).any(dim=1)

    assert torch.equal(generate(model, text_ids, max_new_tokens=8, stop=stop),
                       generate(model, text_ids, max_new_tokens=8, eos_token_id=marker))
