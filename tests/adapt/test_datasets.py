"""The built-in sets from the pinned LLaMA-Factory sdist, the user's files, and the held-out split."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from olmo_core.errors import ConfigError

from olmo_adapt.datasets import held_out_split, load_conversations, load_pairs


def test_builtin_alpaca_set_becomes_user_assistant_conversations() -> None:
    records = load_conversations("alpaca_en_demo")
    assert len(records) == 999
    assert all([m["role"] for m in r["messages"]] == ["user", "assistant"] for r in records)
    first = records[0]["messages"]
    assert first[0]["content"] == "Describe a process of making crepes."
    assert first[1]["content"].startswith("Making crepes is an easy and delicious process!")
    with_input = sum("\n" in r["messages"][0]["content"] for r in records)
    assert with_input >= 412  # instructions with an input get it on a new line


def test_builtin_dpo_set_becomes_prompts_and_two_answers() -> None:
    pairs = load_pairs("dpo_en_demo")
    assert len(pairs) == 300
    assert all(p["prompt"][-1]["role"] == "user" for p in pairs)
    assert all(p["chosen"][0]["role"] == p["rejected"][0]["role"] == "assistant" for p in pairs)
    assert sum(p["prompt"][0]["role"] == "system" for p in pairs) == 80


def test_user_files_in_both_pair_formats(tmp_path: Path) -> None:
    prompt = [{"role": "user", "content": "Hi"}]
    good, bad = {"role": "assistant", "content": "Hello!"}, {"role": "assistant", "content": "Go away."}
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in [
        {"chosen": prompt + [good], "rejected": prompt + [bad]},
        {"prompt": "Hi", "chosen": "Hello!", "rejected": "Go away."},
        {"chosen": prompt + [good], "rejected": [{"role": "user", "content": "Other"}, bad]}]) + "\n")
    pairs = load_pairs(str(path))
    assert pairs[0]["prompt"] == pairs[1]["prompt"] == prompt
    assert pairs[0]["chosen"] == pairs[1]["chosen"] == [good] and pairs[1]["rejected"] == [bad]
    assert pairs[2]["prompt"] is None
    (tmp_path / "chat.jsonl").write_text(json.dumps({"id": "a", "messages": prompt + [good]}) + "\n")
    assert load_conversations(str(tmp_path / "chat.jsonl")) == [{"id": "a", "messages": prompt + [good]}]
    (tmp_path / "bad.jsonl").write_text('{"text": "no messages"}\n')
    with pytest.raises(ConfigError, match="line 1 has no 'messages'"):
        load_conversations(str(tmp_path / "bad.jsonl"))


def test_held_out_examples_do_not_depend_on_file_order() -> None:
    records = [{"id": f"r{i}"} for i in range(50)]
    train, held = held_out_split(records, 5)
    _, held_reversed = held_out_split(records[::-1], 5)
    assert len(train) == 45 and {r["id"] for r in held} == {r["id"] for r in held_reversed}
    assert not {r["id"] for r in held} & {r["id"] for r in train}


def test_a_malformed_line_is_named_by_its_line_number_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    good = json.dumps({"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]})
    path.write_text(f"{good}\n\n{good}\n{{\"messages\": [}}\n")
    with pytest.raises(ConfigError, match=rf"^{path} line 4: not JSON \(Expecting value\)$"):
        load_conversations(str(path))


@pytest.mark.parametrize(("name", "text", "load", "error"), [
    ("chat.jsonl", '{"messages": []}\n[1, 2, 3]\n', load_conversations,
     "line 2: a record must be a JSON object, not an array"),
    ("chat.jsonl", '{"messages": ["hello"]}\n', load_conversations,
     "line 1: message 1 of 'messages' must be an object with 'role' and 'content', not a string"),
    ("chat.jsonl", '{"messages": "hello"}\n', load_conversations,
     "line 1: 'messages' must be a list of messages, not a string"),
    ("pairs.jsonl", '\n{"chosen": "Yes", "rejected": "Yep"}\n', load_pairs,
     "line 2: text 'chosen' and 'rejected' need a 'prompt' (the user turn they answer), or give both as full "
     "conversations"),
    ("pairs.json", '[{"prompt": "Hi", "chosen": "Yes", "rejected": [3]}]', load_pairs,
     "record 1: message 1 of 'rejected' must be an object with 'role' and 'content', not a number"),
    ("pairs.json", '[{"prompt": "Hi",\n "chosen": "Yes" "rejected": "No"}]', load_pairs,
     "line 2 column 18: not JSON (Expecting ',' delimiter)"),
])
def test_records_of_the_wrong_shape_are_named_with_their_file_and_record(
        tmp_path: Path, name: str, text: str, load: Any, error: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load(str(path))
    assert str(raised.value) == f"{path} {error}"
