"""``olmo generate`` on every kind of checkpoint eval reads: a run directory (its newest checkpoint), an
exported transformers OLMo (converted to olmo's model) and another architecture (its own forward pass)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from olmo_core.tokenizer import load_tokenizer

from olmo_eval.testing import save_random

transformers = pytest.importorskip("transformers")

TINY = ["model.d_model=32", "model.n_heads=2", "model.n_layers=2", "model.mlp_hidden_size=128",
        "model.max_sequence_length=128"]
PROMPT = "Call me Ishmael."


@pytest.fixture(scope="module")
def step_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from olmo_core.cli import invoke

    out = tmp_path_factory.mktemp("run") / "checkpoints" / "step000003"
    invoke(["model", "init", "seed=1", f"output={out}", *TINY])
    return out


def _generate(olmo_cli: Any, checkpoint: Path) -> str:
    result = olmo_cli("generate", f"checkpoint={checkpoint}", f"prompt={PROMPT}", "max_new_tokens=6")
    assert result.exit_code == 0, result.err
    return str(result.out)


def test_a_run_directory_and_its_transformers_export_generate_like_the_checkpoint(step_dir: Path, olmo_cli: Any,
                                                                                  tmp_path: Path) -> None:
    expected = _generate(olmo_cli, step_dir)
    assert expected.startswith(PROMPT) and len(expected.strip()) > len(PROMPT)
    assert _generate(olmo_cli, step_dir.parent.parent) == expected
    assert olmo_cli("model", "export-hf", f"checkpoint={step_dir}", f"output={tmp_path / 'hf'}").exit_code == 0
    assert _generate(olmo_cli, tmp_path / "hf") == expected


def test_another_architecture_generates_greedily_through_its_own_forward(olmo_cli: Any, tmp_path: Path) -> None:
    tokenizer = load_tokenizer("olmo-v1.5")
    save_random("llama", tmp_path / "llama", tokenizer)
    model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "llama").eval()
    ids = tokenizer.encode(PROMPT)
    with torch.no_grad():
        for _ in range(6):
            ids.append(int(model(torch.tensor([ids])).logits[0, -1].argmax()))
    out = _generate(olmo_cli, tmp_path / "llama")
    assert out == PROMPT + tokenizer.decode(ids[-6:], skip_special_tokens=True) + "\n"
