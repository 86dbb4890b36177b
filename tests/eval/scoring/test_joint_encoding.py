"""Requests are encoded as lm-evaluation-harness encodes them: context and continuation together, the context's
trailing whitespace moved onto the continuation. A SentencePiece-style tokenizer (a Unigram model with a
Metaspace pre-tokenizer, trained offline on real prose) shows why: encoded on its own, a continuation gains a
word-start ``▁``. With the OLMo tokenizer, joint and separate encoding agree on real task requests."""

from __future__ import annotations

import pytest
from tokenizers import Tokenizer as HFTokenizer
from tokenizers import decoders, models, pre_tokenizers, trainers

from olmo_core.tokenizer import Tokenizer

from olmo_eval.scoring.requests import encode_requests
from olmo_eval.tasks.builtin import HFTask

from tests.conftest import stdlib_documents


@pytest.fixture(scope="module")
def metaspace() -> Tokenizer:
    """A 600-piece Unigram tokenizer with Metaspace pre-tokenization (as Llama-2 and Mistral tokenize), trained
    on the docstrings of standard-library modules."""
    backend = HFTokenizer(models.Unigram())
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(vocab_size=600, special_tokens=["</s>", "<unk>"], unk_token="<unk>")
    backend.train_from_iterator([str(d["text"]) for d in stdlib_documents()], trainer)
    return Tokenizer(backend, name="metaspace-unigram", json_text=backend.to_str(), eos_token="</s>")


def pieces(tokenizer: Tokenizer, ids: tuple[int, ...] | list[int]) -> str:
    """The token pieces of ``ids`` joined: the pre-tokenized text, spaces written as ``▁``."""
    return "".join(tokenizer.backend.id_to_token(i) for i in ids)


@pytest.mark.parametrize(("context", "continuation", "alone", "joint"), [
    ("The JSON", "-encoded value", "▁-encoded▁value", "-encoded▁value"),
    ("Is the module a parser?\n", "True", "▁True", "\nTrue"),
])
def test_a_continuation_encoded_alone_gains_a_word_start(metaspace: Tokenizer, context: str, continuation: str,
                                                         alone: str, joint: str) -> None:
    assert pieces(metaspace, metaspace.encode(continuation)) == alone  # the spurious "▁" of separate encoding
    [request] = encode_requests([(context, continuation)], metaspace)
    assert pieces(metaspace, request.continuation) == joint
    assert request.context + request.continuation == tuple(metaspace.encode(context + continuation))


def test_trailing_space_of_the_context_moves_to_the_continuation(metaspace: Tokenizer) -> None:
    separate = metaspace.encode("Answer: ") + metaspace.encode("yes")
    assert pieces(metaspace, separate) == "▁Answer:▁▁yes"  # two word starts where the text has one space
    [request] = encode_requests([("Answer: ", "yes")], metaspace)
    assert pieces(metaspace, request.context) == "▁Answer:"
    assert pieces(metaspace, request.continuation) == "▁yes"
    assert request.context + request.continuation == tuple(metaspace.encode("Answer: yes"))
    assert encode_requests([("Answer:", " yes")], metaspace) == [request]


def test_an_empty_context_is_eos_and_the_continuation_is_encoded_alone(metaspace: Tokenizer) -> None:
    requests = encode_requests([("", "True"), (" ", "True"), ("", "True")], metaspace)
    assert [pieces(metaspace, r.continuation) for r in requests] == ["▁True", "▁True", "▁True"]
    assert {r.context for r in requests} == {(metaspace.eos_token_id,)}


def test_a_continuation_without_tokens_is_an_error(metaspace: Tokenizer) -> None:
    with pytest.raises(ValueError, match="continuation '' .* has no tokens"):
        encode_requests([("Answer:", "yes"), ("Answer:", "")], metaspace)


@pytest.mark.parametrize("task", ["copa", "arc_easy", "hellaswag"])
def test_olmo_tokenizer_joint_equals_separate_encoding(tokenizer: Tokenizer, task: str) -> None:
    pairs = [pair for instance in HFTask(name=task).instances()[:200]
             for pair in zip(instance.contexts, instance.continuations)]
    requests = encode_requests(pairs, tokenizer)
    assert [(r.context, r.continuation) for r in requests] == [
        (tuple(tokenizer.encode(context)), tuple(tokenizer.encode(continuation))) for context, continuation in pairs]
