"""``olmo chat``: one answer with prompt=..., and a conversation from stdin that keeps its history."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from olmo_core.model_io import load_model
from olmo_core.nn.generate import generate

from olmo_adapt.chat import Chat, ChatConfig, converse
from olmo_core.chat_template import TuluTemplate


def _greedy(model: Any, template: TuluTemplate, messages: list[dict[str, str]], n: int) -> str:
    ids = torch.tensor([template.encode(messages, add_generation_prompt=True).ids])
    new = generate(model, ids, max_new_tokens=n, eos_token_id=template.eos_id)[0, ids.shape[1]:].tolist()
    new = new[: new.index(template.eos_id)] if template.eos_id in new else new
    return template.tokenizer.decode(new).strip()


def test_one_answer_is_the_greedy_continuation_after_the_assistant_header(olmo_cli: Any, tiny_checkpoint: Path,
                                                                           template: TuluTemplate) -> None:
    result = olmo_cli("chat", f"checkpoint={tiny_checkpoint}", "prompt=Name a colour.", "max_new_tokens=12")
    assert result.exit_code == 0, result.err
    model = load_model(tiny_checkpoint).model.eval()
    expected = _greedy(model, template, [{"role": "user", "content": "Name a colour."}], 12)
    assert result.out.strip() == expected and expected


def test_a_run_directory_chats_with_its_newest_checkpoint(olmo_cli: Any, tiny_checkpoint: Path,
                                                          tmp_path: Path) -> None:
    import shutil

    shutil.copytree(tiny_checkpoint, tmp_path / "run" / "checkpoints" / "step000003")
    args = ("prompt=Name a colour.", "max_new_tokens=4")
    result = olmo_cli("chat", f"checkpoint={tmp_path / 'run'}", *args)
    assert result.exit_code == 0, result.err
    assert result.out == olmo_cli("chat", f"checkpoint={tiny_checkpoint}", *args).out


def test_a_conversation_from_stdin_keeps_its_history(tiny_checkpoint: Path, template: TuluTemplate) -> None:
    model = load_model(tiny_checkpoint).model.eval()
    config = ChatConfig(checkpoint=str(tiny_checkpoint), system="Be brief.", max_new_tokens=8)
    chat = Chat(model, template, config)
    out = io.StringIO()
    assert converse(chat, ["Hi there\n", "\n", "And then?\n", "/reset\n", "Again\n", "/exit\n", "ignored\n"], out) == 3
    lines = out.getvalue().splitlines()
    assert lines[2] == "(history cleared)" and len(lines) == 4
    system = {"role": "system", "content": "Be brief."}
    first = _greedy(model, template, [system, {"role": "user", "content": "Hi there"}], 8)
    second = _greedy(model, template, [system, {"role": "user", "content": "Hi there"},
                                       {"role": "assistant", "content": first},
                                       {"role": "user", "content": "And then?"}], 8)
    again = _greedy(model, template, [system, {"role": "user", "content": "Again"}], 8)
    assert lines[0] == f"assistant: {first}" and lines[1] == f"assistant: {second}" and lines[3] == f"assistant: {again}"
    assert [m["role"] for m in chat.history] == ["system", "user", "assistant"]


def test_sampling_options_are_checked(olmo_cli: Any, tiny_checkpoint: Path) -> None:
    result = olmo_cli("chat", f"checkpoint={tiny_checkpoint}", "prompt=Hi", "top_p=0")
    assert result.exit_code != 0 and "top_p" in result.err
    sampled = olmo_cli("chat", f"checkpoint={tiny_checkpoint}", "prompt=Hi", "temperature=1.0", "top_p=0.9",
                       "max_new_tokens=5", "seed=4")
    again = olmo_cli("chat", f"checkpoint={tiny_checkpoint}", "prompt=Hi", "temperature=1.0", "top_p=0.9",
                     "max_new_tokens=5", "seed=4")
    assert sampled.exit_code == 0 and sampled.out == again.out

