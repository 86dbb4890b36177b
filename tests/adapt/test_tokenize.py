"""Labels, truncation and the skipped conversations, counted by reason."""

from __future__ import annotations

from olmo_adapt.examples import EMPTY, NO_ASSISTANT, NOT_TEXT, NOTHING_TRAINED, TOO_LONG, UNKNOWN_ROLE, Skips
from olmo_adapt.sft.method import tokenize_conversations
from olmo_core.chat_template import TuluTemplate
from olmo_adapt.tokenize import fit

GOOD = {"messages": [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}]}
LONG_ANSWER = {"messages": [{"role": "user", "content": "Count."},
                            {"role": "assistant", "content": " ".join(str(i) for i in range(60))}]}
LONG_PROMPT = {"messages": [{"role": "user", "content": "word " * 80}, {"role": "assistant", "content": "Yes."}]}


def test_labels_are_the_next_trained_token(template: TuluTemplate) -> None:
    encoded = template.encode(GOOD["messages"])
    tokens = fit(encoded, max_length=64, overlong="skip")
    assert not isinstance(tokens, str)
    for t in range(len(tokens.ids) - 1):
        assert tokens.labels[t] == (tokens.ids[t + 1] if encoded.trained[t + 1] else -100)
    assert tokens.labels[-1] == -100
    assert tokens.trained == sum(encoded.trained)


def test_skipped_conversations_are_counted_with_their_reason(template: TuluTemplate) -> None:
    records = [GOOD,
               {"messages": [{"role": "user", "content": "Hello?"}]},
               {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "  \n"}]},
               {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "Hm."}]},
               {"messages": [{"role": "narrator", "content": "Once"}, {"role": "assistant", "content": "Yes."}]},
               LONG_ANSWER, LONG_PROMPT, GOOD]
    skips = Skips()
    kept = tokenize_conversations(records, template, max_length=48, overlong="skip", skips=skips)
    print(skips.summary())
    assert len(kept) == 2 and skips.kept == 2 and skips.total == len(records)
    assert skips.as_dict()["skipped"] == {NO_ASSISTANT: 1, EMPTY: 2, UNKNOWN_ROLE: 1, TOO_LONG: 2}
    assert skips.summary() == ("kept 2 of 8; skipped 2 empty content, 2 longer than max_length, "
                               "1 no assistant turn, 1 unknown role")


def test_truncation_keeps_the_start_and_drops_what_has_nothing_left_to_train(template: TuluTemplate) -> None:
    skips = Skips()
    kept = tokenize_conversations([LONG_ANSWER, LONG_PROMPT], template, max_length=48, overlong="truncate",
                                  skips=skips)
    assert skips.as_dict() == {"kept": 1, "skipped": {NOTHING_TRAINED: 1}}
    full = template.encode(LONG_ANSWER["messages"]).ids
    assert kept[0].ids == full[:48]
    assert kept[0].labels[-1] == -100 and kept[0].trained == sum(template.encode(LONG_ANSWER["messages"]).trained[1:48])


def test_content_that_is_not_text_is_skipped_not_trained_as_its_repr(template: TuluTemplate) -> None:
    parts = {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                          {"role": "assistant", "content": "Hello."}]}
    number = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": 42}]}
    skips = Skips()
    kept = tokenize_conversations([parts, GOOD, number], template, max_length=64, overlong="skip", skips=skips)
    assert len(kept) == 1 and kept[0].ids == template.encode(GOOD["messages"]).ids
    assert skips.as_dict() == {"kept": 1, "skipped": {NOT_TEXT: 2}} and skips.total == 3
