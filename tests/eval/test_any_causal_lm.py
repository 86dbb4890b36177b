"""``olmo eval`` on transformers causal LMs of other architectures (GPT-2, GPT-NeoX, Llama), made small and
random offline: the engine's batched log-likelihoods equal a plain forward pass; and a plugin's runtime."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from olmo_core import hookimpl
from olmo_core.tokenizer import Tokenizer

from olmo_eval.loading import load_eval_model, resolve_checkpoint
from olmo_eval.testing import ARCHITECTURES, save_random

from tests.conftest import stdlib_documents

transformers = pytest.importorskip("transformers")

@pytest.fixture(scope="module", params=ARCHITECTURES)
def hf_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tokenizer: Tokenizer) -> Path:
    return save_random(request.param, tmp_path_factory.mktemp(request.param), tokenizer)


def plain_ll(model: Any, context: list[int], continuation: list[int]) -> float:
    """The log-likelihood of ``continuation`` after ``context`` from one unbatched forward pass."""
    with torch.no_grad():
        logits = model(torch.tensor([context + continuation])).logits[0]
    logprobs = torch.log_softmax(logits.double(), dim=-1)
    return sum(float(logprobs[len(context) - 1 + i, t]) for i, t in enumerate(continuation))


def test_downstream_log_likelihoods_equal_a_plain_forward_pass(hf_dir: Path, tmp_path: Path, olmo_cli: Any,
                                                               tokenizer: Tokenizer) -> None:
    result = olmo_cli("eval", "downstream", f"checkpoint={hf_dir}", f"output={tmp_path}", "tasks=[copa]",
                      "limit=4", "threads=2")
    assert result.exit_code == 0, result.err
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["kind"] == "transformers"
    prompt = tokenizer.encode(results["unconditional_prompt"])
    samples = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    model = transformers.AutoModelForCausalLM.from_pretrained(hf_dir).eval()
    assert len(samples) == 8
    for s in samples:
        expected = plain_ll(model, tokenizer.encode(s["context"]), tokenizer.encode(s["continuation"]))
        assert s["ll"] == pytest.approx(expected, abs=1e-5)
        assert s["ll_uncond"] == pytest.approx(plain_ll(model, prompt, tokenizer.encode(s["continuation"])), abs=1e-5)


def test_perplexity_equals_a_plain_forward_pass(tmp_path: Path, olmo_cli: Any, tokenizer: Tokenizer) -> None:
    hf_dir = save_random("llama", tmp_path / "llama", tokenizer)
    docs = [{**d, "text": str(d["text"])[:400]} for d in stdlib_documents()[:3]]
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    result = olmo_cli("eval", "perplexity", f"checkpoint={hf_dir}", f"input={tmp_path / 'docs.jsonl'}",
                      f"output={tmp_path / 'ppl'}", "threads=2")
    assert result.exit_code == 0, result.err
    samples = [json.loads(line) for line in (tmp_path / "ppl" / "samples.jsonl").read_text().splitlines()]
    model = transformers.AutoModelForCausalLM.from_pretrained(hf_dir).eval()
    assert [s["ll"] for s in samples] == pytest.approx(
        [plain_ll(model, [tokenizer.eos_token_id], tokenizer.encode(d["text"])) for d in docs], abs=1e-5)


class MarkerRuntime:
    """A third party's runtime: a directory holding ``model.marker`` is the tiny OLMo."""

    def __init__(self, model: Any, tokenizer: Tokenizer) -> None:
        self.model, self.tok = model, tokenizer

    def find(self, path: Path) -> Path | None:
        return path if (path / "model.marker").is_file() else None

    def tokenizer(self, directory: Path) -> Tokenizer:
        return self.tok

    def load(self, directory: Path, device: str) -> tuple[Any, int | None]:
        return self.model, 3


def test_a_plugin_registers_another_runtime(tmp_path: Path, model: Any, tokenizer: Tokenizer,
                                            register_plugin: Any) -> None:
    class Plugin:
        @hookimpl
        def olmo_register_eval_models(self, register: Any) -> None:
            register("marker", lambda: MarkerRuntime(model, tokenizer))

    register_plugin(Plugin(), "marker-plugin")
    (tmp_path / "model.marker").touch()
    assert resolve_checkpoint(tmp_path) == (tmp_path, "marker")
    loaded = load_eval_model(tmp_path)
    assert (loaded.kind, loaded.step, loaded.model) == ("marker", 3, model)


def test_a_model_stored_in_bf16_is_scored_in_fp32(tmp_path: Path, tokenizer: Tokenizer) -> None:
    from olmo_core.runtimes import TransformersCausalLM

    directory = save_random("llama", tmp_path / "llama", tokenizer)
    stored = transformers.AutoModelForCausalLM.from_pretrained(directory).to(torch.bfloat16)
    stored.save_pretrained(directory)
    assert json.loads((directory / "config.json").read_text())["dtype"] == "bfloat16"
    model, _ = TransformersCausalLM().load(directory, "cpu")
    assert {p.dtype for p in model.parameters()} == {torch.float32}  # transformers 5 would keep bf16 ("auto")


def test_a_window_past_a_gpt2s_positions_is_refused_in_one_line(tmp_path: Path, olmo_cli: Any,
                                                                 tokenizer: Tokenizer) -> None:
    hf_dir = save_random("gpt2", tmp_path / "gpt2", tokenizer)  # n_positions=256
    (tmp_path / "docs.jsonl").write_text(json.dumps({"id": "a", "text": "word " * 400}) + "\n")
    result = olmo_cli("eval", "perplexity", f"checkpoint={hf_dir}", f"input={tmp_path / 'docs.jsonl'}",
                      f"output={tmp_path / 'ppl'}", "threads=2", "window=512")
    assert result.exit_code != 0 and "Traceback" not in result.err and "IndexError" not in result.err
    assert "window=512 is past the model's maximum sequence length, 256 tokens" in result.err
