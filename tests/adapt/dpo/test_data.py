"""Tokenized pairs: only the answer is trained; truncation shortens the shared prompt first."""

from __future__ import annotations

from olmo_core.tokenizer import Tokenizer

from olmo_adapt.datasets import load_pairs
from olmo_adapt.dpo.data import DIFFERENT_PROMPTS, SAME_ANSWERS, tokenize_pairs
from olmo_adapt.examples import NO_ASSISTANT, TOO_LONG, Skips
from olmo_core.chat_template import TuluTemplate

EOS = "<|endoftext|>"


def test_only_the_last_turn_is_trained(template: TuluTemplate, tokenizer: Tokenizer) -> None:
    prompt = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."},
              {"role": "user", "content": "Colour?"}]
    record = {"prompt": prompt, "chosen": [{"role": "assistant", "content": "Blue."}],
              "rejected": [{"role": "assistant", "content": "No."}]}
    (pair,) = tokenize_pairs([record], template, max_length=64, overlong="skip", skips=Skips())
    for side, text in ((pair.chosen, "Blue."), (pair.rejected, "No.")):
        assert tokenizer.decode([t for t in side.labels if t != -100]) == text + EOS
        assert side.ids[: -len(tokenizer.encode(text)) - 1] == template.encode(prompt, add_generation_prompt=True).ids


def test_truncation_drops_the_oldest_prompt_tokens_of_both_sides_alike(template: TuluTemplate,
                                                                      tokenizer: Tokenizer) -> None:
    record = next(r for r in load_pairs("dpo_en_demo") if len(template.encode(r["prompt"]).ids) > 200)
    (pair,) = tokenize_pairs([record], template, max_length=64, overlong="truncate", skips=Skips())
    full = template.encode(record["prompt"], add_generation_prompt=True).ids
    for side, answer in ((pair.chosen, record["chosen"]), (pair.rejected, record["rejected"])):
        assert len(side.ids) == 64 and side.ids[0] == tokenizer.eos_token_id
        assert side.ids[1:32] == full[len(full) - 31:]  # the prompt's last 31 tokens, ending in <|assistant|>\n
        answer_ids = template.encode(record["prompt"] + answer).ids[len(full):]
        assert side.ids[32:] == answer_ids[:32] and side.trained == 32
    skips = Skips()
    assert tokenize_pairs([record], template, max_length=64, overlong="skip", skips=skips) == []
    assert skips.as_dict()["skipped"] == {TOO_LONG: 1}


def test_unusable_pairs_are_counted_with_their_reason(template: TuluTemplate) -> None:
    user, answer = {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}
    records = [{"prompt": None, "chosen": [answer], "rejected": [answer]},
               {"prompt": [user], "chosen": [answer], "rejected": [answer]},
               {"prompt": [user], "chosen": [user], "rejected": [answer]},
               {"prompt": [user], "chosen": [answer], "rejected": [{"role": "assistant", "content": ""}]}]
    skips = Skips()
    assert tokenize_pairs(records, template, max_length=64, overlong="skip", skips=skips) == []
    assert skips.as_dict()["skipped"] == {DIFFERENT_PROMPTS: 1, SAME_ANSWERS: 1, NO_ASSISTANT: 1,
                                          "empty content": 1}
