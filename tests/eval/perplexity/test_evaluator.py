"""Bits per byte of a document equals its summed token NLL over its UTF-8 bytes, worked out independently;
domains pool, sources average domains."""

from __future__ import annotations

import math

import pytest
import torch

from olmo_core.documents import Document
from olmo_core.nn.model import OLMo
from olmo_core.tokenizer import Tokenizer

from olmo_eval.perplexity.evaluator import PerplexityEvalConfig, PerplexityEvaluator, aggregate

TEXTS = {
    "short": "Call me Ishmael.",
    "exact": None,  # filled to exactly one window below
    "long": "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in "
            "want of a wife. However little known the feelings or views of such a man may be — café, naïve, 東京.",
}
WINDOW = 16


def reference_nll(model: OLMo, tokens: list[int], eos: int) -> float:
    """Each token t[i] conditioned on what the windowing gives it: for a document within one window, every
    earlier token (and EOS); beyond, the block of WINDOW targets it falls in (the final block reading the
    last WINDOW inputs). Targets that share a first context token come from one plain causal forward."""
    stream = [eos, *tokens]
    n = len(tokens)
    by_start: dict[int, list[int]] = {}
    for target in range(1, n + 1):
        block_first = 1 + ((target - 1) // WINDOW) * WINDOW
        block_last = min(block_first + WINDOW, n + 1)
        start = block_first - 1 if block_last - block_first == WINDOW else max(0, block_last - 1 - WINDOW)
        by_start.setdefault(start, []).append(target)
    total = 0.0
    for start, targets in by_start.items():
        with torch.no_grad():
            logits = model(torch.tensor([stream[start:max(targets)]]))[0].double()
        logprobs = torch.log_softmax(logits, dim=-1)
        total -= sum(float(logprobs[t - 1 - start, stream[t]]) for t in targets)
    return total


def test_bits_per_byte_of_each_document(model: OLMo, tokenizer: Tokenizer) -> None:
    texts = dict(TEXTS)
    words = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen".split()
    texts["exact"] = " ".join(words)
    assert len(tokenizer.encode(texts["exact"])) == WINDOW
    assert len(tokenizer.encode(texts["long"])) > 2 * WINDOW
    documents = [(Document(id=k, text=v, source="books"), "novels") for k, v in texts.items()]
    result = PerplexityEvaluator(PerplexityEvalConfig(window=WINDOW, batch_tokens=40, max_batch_size=3)).evaluate(
        model, tokenizer, documents)
    for record in result.records:
        text = texts[record["id"]]
        tokens = tokenizer.encode(text)
        nll = reference_nll(model, tokens, tokenizer.eos_token_id)
        assert record["ll"] == pytest.approx(-nll, abs=1e-5)
        assert record["tokens"] == len(tokens) and record["bytes"] == len(text.encode("utf-8"))
        assert record["bits_per_byte"] == pytest.approx(nll / math.log(2) / len(text.encode("utf-8")), abs=1e-6)
    nll_all = -sum(r["ll"] for r in result.records)
    bytes_all = sum(len(t.encode("utf-8")) for t in texts.values())
    assert result.domains["books"]["novels"]["bits_per_byte"] == pytest.approx(nll_all / math.log(2) / bytes_all)
    tokens_all = sum(len(tokenizer.encode(t)) for t in texts.values())
    assert result.sources["books"]["ppl_token"] == pytest.approx(math.exp(nll_all / tokens_all))


def test_domains_pool_and_sources_average_domains() -> None:
    records = [
        {"source": "web", "domain": "a", "ll": -2 * math.log(2), "tokens": 2, "bytes": 1},
        {"source": "web", "domain": "a", "ll": -6 * math.log(2), "tokens": 2, "bytes": 3},
        {"source": "web", "domain": "b", "ll": -1 * math.log(2), "tokens": 1, "bytes": 4},
        {"source": "code", "domain": "code", "ll": -3 * math.log(2), "tokens": 3, "bytes": 1},
    ]
    result = aggregate(records)
    assert result.domains["web"]["a"]["bits_per_byte"] == pytest.approx(8 / 4)  # pooled: 8 bits over 4 bytes
    assert result.domains["web"]["b"]["bits_per_byte"] == pytest.approx(1 / 4)
    assert result.sources["web"]["bits_per_byte"] == pytest.approx((2 + 0.25) / 2)
    assert result.sources["web"]["ppl_token"] == pytest.approx((2 ** (8 / 4) + 2 ** (1 / 1)) / 2)
    assert result.bits_per_byte == pytest.approx(((2 + 0.25) / 2 + 3) / 2)


def test_a_window_past_the_models_sequence_length_is_refused(model: OLMo, tokenizer: Tokenizer) -> None:
    from olmo_core.errors import ConfigError

    document = [(Document(id="d", text="Two words."), "d")]
    with pytest.raises(ConfigError, match=r"^window=513 is past the model's maximum sequence length, 512 tokens"):
        PerplexityEvaluator(PerplexityEvalConfig(window=513)).evaluate(model, tokenizer, document)
    assert PerplexityEvaluator(PerplexityEvalConfig(window=512)).evaluate(model, tokenizer, document).records
