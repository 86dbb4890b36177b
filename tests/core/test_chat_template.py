"""The Tulu template: the rendered text, the token ids and the trained span of every message."""

from __future__ import annotations

import pytest

from olmo_core.chat_template import TuluTemplate
from olmo_core.tokenizer import Tokenizer

EOS = "<|endoftext|>"
CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is 2 + 2?"},
    {"role": "assistant", "content": "4."},
    {"role": "user", "content": "  And 3 + 3?\n"},
    {"role": "assistant", "content": "6, as 3 + 3 = 6."},
]


@pytest.fixture(scope="module")
def template(tokenizer: Tokenizer) -> TuluTemplate:
    return TuluTemplate(tokenizer)


def test_render_is_open_instructs_tulu_text_with_a_leading_bos(template: TuluTemplate) -> None:
    assert template.render(CONVERSATION) == (
        f"{EOS}<|system|>\nYou are terse.\n<|user|>\nWhat is 2 + 2?\n<|assistant|>\n4.{EOS}\n"
        f"<|user|>\nAnd 3 + 3?\n<|assistant|>\n6, as 3 + 3 = 6.{EOS}")
    assert template.render(CONVERSATION[:2], add_generation_prompt=True) == (
        f"{EOS}<|system|>\nYou are terse.\n<|user|>\nWhat is 2 + 2?\n<|assistant|>\n")


def test_ids_decode_to_the_rendered_text(template: TuluTemplate, tokenizer: Tokenizer) -> None:
    for prompt in (False, True):
        encoded = template.encode(CONVERSATION[:4], add_generation_prompt=prompt)
        assert tokenizer.decode(encoded.ids) == template.render(CONVERSATION[:4], add_generation_prompt=prompt)


def test_role_headers_are_text_and_eos_is_the_one_control_token(template: TuluTemplate, tokenizer: Tokenizer) -> None:
    assert tokenizer.backend.token_to_id("<|user|>") is None
    assert tokenizer.encode("<|user|>\n") == [29, 93, 4537, 49651, 187]
    encoded = template.encode(CONVERSATION)
    eos_positions = [t for t, i in enumerate(encoded.ids) if i == tokenizer.eos_token_id]
    assert tokenizer.eos_token_id == 50279
    assert eos_positions == [0, encoded.spans[2][1] - 1, encoded.spans[4][1] - 1]


def test_a_message_cannot_write_the_eos_token(template: TuluTemplate, tokenizer: Tokenizer) -> None:
    encoded = template.encode([{"role": "user", "content": f"say {EOS} now"},
                               {"role": "assistant", "content": "ok"}])
    assert encoded.ids.count(tokenizer.eos_token_id) == 2  # BOS and the end of the answer only
    assert EOS in tokenizer.decode(encoded.ids[encoded.spans[0][0]:encoded.spans[0][1]])


def test_only_assistant_content_and_its_eos_are_trained_token_by_token(template: TuluTemplate,
                                                                        tokenizer: Tokenizer) -> None:
    encoded = template.encode(CONVERSATION)
    trained_runs, start = [], None
    for t, flag in enumerate([*encoded.trained, False]):
        if flag and start is None:
            start = t
        elif not flag and start is not None:
            trained_runs.append((start, t))
            start = None
    for message, (begin, end) in zip(CONVERSATION, encoded.spans, strict=True):
        text = tokenizer.decode(encoded.ids[begin:end])
        trained = all(encoded.trained[begin:end])
        print(f"{message['role']:>9} tokens {begin:3d}-{end:3d} trained={trained}: {text!r}")
        expected = message["content"].strip() + (EOS if message["role"] == "assistant" else "")
        assert text == expected
        assert trained == (message["role"] == "assistant")
        assert any(encoded.trained[begin:end]) == trained
    assert trained_runs == [encoded.spans[2], encoded.spans[4]]
    assert [tokenizer.decode(encoded.ids[a:b]) for a, b in trained_runs] == [f"4.{EOS}", f"6, as 3 + 3 = 6.{EOS}"]
    untrained = "".join(tokenizer.decode([i]) for i, f in zip(encoded.ids, encoded.trained, strict=True) if not f)
    assert untrained == (f"{EOS}<|system|>\nYou are terse.\n<|user|>\nWhat is 2 + 2?\n<|assistant|>\n\n"
                         f"<|user|>\nAnd 3 + 3?\n<|assistant|>\n")


def test_content_that_is_not_text_is_refused_not_rendered_as_its_repr(template: TuluTemplate) -> None:
    from olmo_core.errors import ConfigError

    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": 42}]
    for render in (template.render, template.encode):
        with pytest.raises(ConfigError) as raised:
            render(messages)
        assert str(raised.value) == "message 2 (assistant): content must be text, not int (give 'content' as a string)"
