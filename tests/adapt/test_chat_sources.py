"""A transformers export carries the Tulu chat template (``apply_chat_template`` gives TuluTemplate's ids), and
``olmo chat`` talks with a transformers directory of another architecture through its own forward pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from olmo_core.chat_template import TULU_CHAT_TEMPLATE

from olmo_core.chat_template import TuluTemplate
from olmo_eval.testing import save_random

transformers = pytest.importorskip("transformers")

CONVERSATIONS = [
    [{"role": "user", "content": "Name a colour."}],
    [{"role": "system", "content": "Be brief. "}, {"role": "user", "content": " Hi\nthere"},
     {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "And then?"}],
    [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": " 4 "}],
]


def test_an_export_renders_conversations_as_the_tulu_template(tiny_checkpoint: Path, olmo_cli: Any,
                                                              template: TuluTemplate, tmp_path: Path) -> None:
    result = olmo_cli("model", "export-hf", f"checkpoint={tiny_checkpoint}", f"output={tmp_path / 'hf'}")
    assert result.exit_code == 0, result.err
    hf = transformers.AutoTokenizer.from_pretrained(tmp_path / "hf")
    assert hf.chat_template == TULU_CHAT_TEMPLATE
    for conversation in CONVERSATIONS:
        for prompt in (False, True):
            assert hf.apply_chat_template(conversation, tokenize=False, add_generation_prompt=prompt) == \
                template.render(conversation, add_generation_prompt=prompt)
            ids = hf.apply_chat_template(conversation, tokenize=True, add_generation_prompt=prompt,
                                         return_dict=False)
            assert list(ids) == template.encode(conversation, add_generation_prompt=prompt).ids


def test_chat_with_a_transformers_llama_answers_greedily(olmo_cli: Any, template: TuluTemplate,
                                                         tmp_path: Path) -> None:
    save_random("llama", tmp_path / "llama", template.tokenizer)
    model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "llama").eval()
    ids = template.encode(CONVERSATIONS[0], add_generation_prompt=True).ids
    new: list[int] = []
    with torch.no_grad():
        while len(new) < 5 and template.eos_id not in new:
            new.append(int(model(torch.tensor([ids + new])).logits[0, -1].argmax()))
    result = olmo_cli("chat", f"checkpoint={tmp_path / 'llama'}", "prompt=Name a colour.", "max_new_tokens=5")
    assert result.exit_code == 0, result.err
    expected = template.tokenizer.decode([t for t in new if t != template.eos_id]).strip()
    assert result.out == expected + "\n"
