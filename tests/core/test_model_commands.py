from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import torch

from olmo_core import hookimpl
from olmo_core.checkpoint import load_checkpoint
from olmo_core.model_io import load_model
from tests.conftest import stdlib_documents

# olmo-tiny, tied: embedding 50304 x 128; per layer att_proj 128x384, attn_out 128x128, ff_proj 128x1024,
# ff_out 512x128 (the SwiGLU halves the width), 4 layers.
TINY_EMBEDDING = 50304 * 128
TINY_BLOCKS = 4 * (128 * 384 + 128 * 128 + 128 * 1024 + 512 * 128)


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from olmo_core.cli import invoke

    out = tmp_path_factory.mktemp("ckpt") / "tiny"
    invoke(["model", "init", "model=olmo-tiny", "seed=3", f"output={out}"])
    return out


def test_init_is_seeded_and_info_counts_parameters(tiny_checkpoint: Path, olmo_cli: Any, tmp_path: Path) -> None:
    result = olmo_cli("model", "info", f"checkpoint={tiny_checkpoint}", "--json")
    assert result.exit_code == 0, result.err
    info = json.loads(result.out)
    assert (info["parameters"], info["non_embedding_parameters"]) == (TINY_EMBEDDING + TINY_BLOCKS, TINY_BLOCKS)
    assert info["step"] == 0 and info["tokenizer"]["name"] == "olmo-v1.5"
    assert olmo_cli("model", "init", "model=olmo-tiny", "seed=3", f"output={tmp_path / 'same'}").exit_code == 0
    assert olmo_cli("model", "init", "model=olmo-tiny", "seed=4", f"output={tmp_path / 'other'}").exit_code == 0
    ours = load_checkpoint(tiny_checkpoint).tensors["model"]
    same = load_checkpoint(tmp_path / "same").tensors["model"]
    other = load_checkpoint(tmp_path / "other").tensors["model"]
    assert all(torch.equal(ours[k], same[k]) for k in ours)
    assert not torch.equal(ours["transformer.wte.weight"], other["transformer.wte.weight"])


def test_info_of_a_paper_preset_counts_without_allocating(olmo_cli: Any, tmp_path: Path) -> None:
    from olmo_core.checkpoint import save_checkpoint
    from olmo_core.model_io import model_config_document
    from olmo_core.plugins import get_host

    _, config = get_host().registry("models").resolve("olmo1-7b")
    save_checkpoint(tmp_path / "ck", tensors={"model": {}}, documents={"model_config": model_config_document(config)})
    info = json.loads(olmo_cli("model", "info", f"checkpoint={tmp_path / 'ck'}", "--json").out)
    assert info["parameters"] == 6_888_095_744


def test_export_to_transformers_and_back(tiny_checkpoint: Path, olmo_cli: Any, tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    hf_dir, back = tmp_path / "hf", tmp_path / "back"
    exported = olmo_cli("model", "export-hf", f"checkpoint={tiny_checkpoint}", f"output={hf_dir}")
    assert exported.exit_code == 0 and "Writing" not in exported.err  # no transformers progress bar in the log
    from transformers.utils import logging as hf_logging
    assert hf_logging.is_progress_bar_enabled()  # and transformers' own setting is left as it was
    hf_model = AutoModelForCausalLM.from_pretrained(hf_dir).eval()
    hf_tokenizer = AutoTokenizer.from_pretrained(hf_dir)
    assert type(hf_model).__name__ == "OlmoForCausalLM"
    loaded = load_model(tiny_checkpoint)
    loaded.model.eval()
    text = str(stdlib_documents()[0]["text"])[:400]
    ids = loaded.tokenizer.encode(text)  # type: ignore[union-attr]
    assert hf_tokenizer(text)["input_ids"] == ids
    with torch.no_grad():
        ours = loaded.model(torch.tensor([ids]))
        theirs = hf_model(torch.tensor([ids])).logits
    torch.testing.assert_close(ours[..., : theirs.shape[-1]], theirs, rtol=0, atol=1e-4)

    assert olmo_cli("model", "import-hf", f"checkpoint={hf_dir}", f"output={back}").exit_code == 0
    original = load_checkpoint(tiny_checkpoint).tensors["model"]
    again = load_checkpoint(back).tensors["model"]
    assert original.keys() == again.keys() and all(torch.equal(original[k], again[k]) for k in original)
    assert load_model(back).tokenizer.sha256 == loaded.tokenizer.sha256  # type: ignore[union-attr]


def test_generate_is_deterministic(tiny_checkpoint: Path, olmo_cli: Any) -> None:
    args = ("generate", f"checkpoint={tiny_checkpoint}", "prompt=Call me Ishmael.", "max_new_tokens=6")
    first, second = olmo_cli(*args), olmo_cli(*args)
    assert first.exit_code == 0 and first.out == second.out and first.out.startswith("Call me Ishmael.")
    sampled = olmo_cli(*args, "temperature=1.0", "top_p=0.9", "seed=5")
    assert sampled.out == olmo_cli(*args, "temperature=1.0", "top_p=0.9", "seed=5").out


def test_tokenizer_larger_than_the_model_is_refused(olmo_cli: Any, tmp_path: Path) -> None:
    result = olmo_cli("model", "init", "model=olmo-tiny", "model.vocab_size=1000", "model.eos_token_id=0",
                      f"output={tmp_path / 'x'}")
    assert result.exit_code == 2
    assert ("model: the tokenizer olmo-v1.5 has 50,280 tokens but the model's vocabulary has 1,000: set "
            "model.vocab_size=50280 or pick another tokenizer") in result.err


@dataclass(kw_only=True)
class BigramConfig:
    vocab_size: int = 50280
    """Tokens the model can read and predict."""


class Bigram(torch.nn.Module):
    """A third-party architecture: next-token logits from the current token alone."""

    def __init__(self, config: BigramConfig) -> None:
        super().__init__()
        self.table = torch.nn.Embedding(config.vocab_size, config.vocab_size)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.table(input_ids)


class BigramPlugin:
    @hookimpl
    def olmo_register_models(self, register: Any) -> None:
        register("bigram", Bigram, config=BigramConfig, presets={"bigram-small": BigramConfig(vocab_size=512)})


def test_third_party_architecture_is_selected_by_name(register_plugin: Any, olmo_cli: Any, tmp_path: Path) -> None:
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers.models import WordLevel

    register_plugin(BigramPlugin(), "bigram-plugin")
    words = ["<|endoftext|>", *str(stdlib_documents()[0]["text"]).split()[:200]]
    vocab = {w: i for i, w in enumerate(dict.fromkeys(words))}
    (tmp_path / "tok").mkdir()
    HFTokenizer(WordLevel(vocab, unk_token="<|endoftext|>")).save(str(tmp_path / "tok" / "tokenizer.json"))
    out = tmp_path / "bigram"
    result = olmo_cli("model", "init", "model=bigram-small", f"tokenizer={tmp_path / 'tok'}", f"output={out}")
    assert result.exit_code == 0, result.err
    info = json.loads(olmo_cli("model", "info", f"checkpoint={out}", "--json").out)
    assert info["model"]["_name_"] == "bigram" and info["parameters"] == 512 * 512
    assert info["non_embedding_parameters"] == 0
    assert type(load_model(out).model) is Bigram
    refused = olmo_cli("model", "export-hf", f"checkpoint={out}", f"output={tmp_path / 'hf'}")
    assert refused.exit_code == 2 and "holds a 'bigram' model: only OLMo models export" in refused.err


def test_a_sharded_checkpoint_exports_like_a_whole_one(tiny_checkpoint: Path, olmo_cli: Any, tmp_path: Path) -> None:
    import json as json_module

    from olmo_core.model_io import model_documents
    from tests.core.test_checkpoint import save_sharded

    loaded = load_model(tiny_checkpoint)
    documents, files = model_documents(loaded.config, tokenizer=loaded.tokenizer, trainer={"step": 0})
    sharded = save_sharded(tmp_path / "sharded", {"model": loaded.model.state_dict()}, documents)
    for name, data in files.items():  # the tokenizer goes in by hand: save_sharded writes documents only
        (sharded / name).write_bytes(data)
        manifest = json_module.loads((sharded / "manifest.json").read_text())
        manifest["files"][name] = {"sha256": __import__("hashlib").sha256(data).hexdigest(), "bytes": len(data)}
        (sharded / "manifest.json").write_text(json_module.dumps(manifest))
    assert olmo_cli("model", "export-hf", f"checkpoint={tiny_checkpoint}", f"output={tmp_path / 'a'}").exit_code == 0
    result = olmo_cli("model", "export-hf", f"checkpoint={sharded}", f"output={tmp_path / 'b'}")
    assert result.exit_code == 0, result.err
    from safetensors.torch import load_file

    a, b = load_file(str(tmp_path / "a" / "model.safetensors")), load_file(str(tmp_path / "b" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "b" / "tokenizer.json").read_bytes() == (tmp_path / "a" / "tokenizer.json").read_bytes()


@pytest.fixture(scope="module")
def tiny_hf(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from olmo_core.cli import invoke

    out = tmp_path_factory.mktemp("hf") / "tiny"
    invoke(["model", "export-hf", f"checkpoint={tiny_checkpoint}", f"output={out}"])
    return out


def _refused_then_replaced(olmo_cli: Any, command: str, source: Path, out: Path) -> None:
    """``olmo model <command>`` into ``out``, which holds a file of the user's: refused with the same message by
    both commands, the file kept; then replaced with ``overwrite=true``."""
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    refused = olmo_cli(["model", command, f"checkpoint={source}", f"output={out}"])
    assert refused.exit_code == 2
    assert refused.err == (f"error: output={out} already exists: choose another output= or add overwrite=true to "
                           f"replace it\n")
    assert [f.name for f in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"
    result = olmo_cli(["model", command, f"checkpoint={source}", f"output={out}", "overwrite=true"])
    assert result.exit_code == 0, result.err
    assert not (out / "notes.txt").exists()


def test_import_refuses_an_existing_output_unless_overwrite(tiny_hf: Path, tiny_checkpoint: Path, olmo_cli: Any,
                                                           tmp_path: Path) -> None:
    _refused_then_replaced(olmo_cli, "import-hf", tiny_hf, tmp_path / "taken")
    assert _tokenizer_identity(tmp_path / "taken")["sha256"] == _tokenizer_identity(tiny_checkpoint)["sha256"]


def test_info_and_export_read_a_run_directorys_newest_complete_checkpoint(tiny_hf: Path, tiny_checkpoint: Path,
                                                                           olmo_cli: Any, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_checkpoint, run / "checkpoints" / "step000003")
    (run / "checkpoints" / "step000005").mkdir()  # a step that never finished
    info = olmo_cli("model", "info", f"checkpoint={run}", "--json")
    assert info.exit_code == 0, info.err
    assert json.loads(info.out)["checkpoint"] == str(run / "checkpoints" / "step000003")
    exported = olmo_cli("model", "export-hf", f"checkpoint={run}", f"output={tmp_path / 'hf'}")
    assert exported.exit_code == 0, exported.err
    assert (tmp_path / "hf" / "model.safetensors").read_bytes() == (tiny_hf / "model.safetensors").read_bytes()


def test_export_refuses_an_existing_output_unless_overwrite(tiny_hf: Path, tiny_checkpoint: Path, olmo_cli: Any,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "taken"
    _refused_then_replaced(olmo_cli, "export-hf", tiny_checkpoint, out)
    assert sorted(f.name for f in out.iterdir()) == sorted(f.name for f in tiny_hf.iterdir())
    assert (out / "model.safetensors").read_bytes() == (tiny_hf / "model.safetensors").read_bytes()


def test_import_without_a_tokenizer_json_needs_a_tokenizer(tiny_hf: Path, olmo_cli: Any, tmp_path: Path) -> None:
    bare = tmp_path / "bare"
    bare.mkdir()
    for file in tiny_hf.iterdir():
        if not file.name.startswith(("tokenizer", "special_tokens")):
            (bare / file.name).write_bytes(file.read_bytes())
    refused = olmo_cli(["model", "import-hf", f"checkpoint={bare}", f"output={tmp_path / 'out'}"])
    assert refused.exit_code == 2 and not (tmp_path / "out").exists()
    assert refused.err == (f"error: {bare} has no tokenizer.json: name the model's tokenizer with tokenizer=<name or "
                           f"path to a tokenizer.json> (olmo-v1.5 for AllenAI's OLMo-1 models)\n")
    result = olmo_cli(["model", "import-hf", f"checkpoint={bare}", f"output={tmp_path / 'out'}", "tokenizer=olmo-v1.5"])
    assert result.exit_code == 0, result.err
    assert _tokenizer_identity(tmp_path / "out")["name"] == "olmo-v1.5"


def _tokenizer_identity(checkpoint: Path) -> dict[str, Any]:
    return load_checkpoint(checkpoint, groups=()).documents["tokenizer_identity"]  # type: ignore[no-any-return]


def test_info_and_export_name_what_a_path_that_is_no_checkpoint_is(tiny_hf: Path, olmo_cli: Any,
                                                                    tmp_path: Path) -> None:
    dataset = tmp_path / "ds"
    (dataset / "documents").mkdir(parents=True)
    (dataset / "documents" / "a.jsonl").write_text('{"id": "1", "text": "one"}\n')
    for command in (["model", "info"], ["model", "export-hf", f"output={tmp_path / 'out'}"]):
        refused = olmo_cli(command, f"checkpoint={dataset}")
        assert (refused.exit_code, refused.err) == (2, (
            f"error: checkpoint: {dataset} is a dataset (documents/), not a checkpoint: `olmo train data=[<token "
            f"arrays dir>] output=<dir>` writes one\n"))
        refused = olmo_cli(command, f"checkpoint={tiny_hf}")
        assert (refused.exit_code, refused.err) == (2, (
            f"error: checkpoint: {tiny_hf} is a transformers model (model_type olmo), not an olmo checkpoint: "
            f"`olmo model import-hf checkpoint={tiny_hf} output=<dir>` converts it\n"))
    assert not (tmp_path / "out").exists()


def test_import_names_an_olmo_checkpoint_or_run_instead_of_asking_for_a_tokenizer(tiny_checkpoint: Path,
                                                                                  olmo_cli: Any,
                                                                                  tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(tiny_checkpoint, run / "checkpoints" / "step000003")
    (run / "config.json").write_text(json.dumps({"model": {"_name_": "olmo"}, "max_steps": 3}))  # the run's options
    step = run / "checkpoints" / "step000003"
    for source, what in ((run, f"an olmo training run (newest checkpoint: {step})"), (step, "an olmo checkpoint")):
        refused = olmo_cli(["model", "import-hf", f"checkpoint={source}", f"output={tmp_path / 'out'}"])
        assert (refused.exit_code, refused.err) == (2, (
            f"error: checkpoint={source} is {what}, not a transformers model: it needs no import (olmo commands "
            f"read it as it is); `olmo model export-hf checkpoint={source} output=<dir>` makes a transformers model "
            f"of it\n"))
    assert not (tmp_path / "out").exists()


def test_import_of_another_architecture_is_refused_in_one_line(olmo_cli: Any, tmp_path: Path) -> None:
    """A GPT-2 directory: a configuration error naming its architecture and what olmo imports, not a ValueError
    after its weights were loaded."""
    import transformers

    gpt2 = tmp_path / "gpt2"
    transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=64,
                                                         n_positions=16)).save_pretrained(gpt2)
    refused = olmo_cli(["model", "import-hf", f"checkpoint={gpt2}", f"output={tmp_path / 'out'}",
                        "tokenizer=olmo-v1.5"])
    assert (refused.exit_code, refused.err) == (2, (
        f"error: cannot import {gpt2}, a transformers GPT2LMHeadModel model (model_type 'gpt2'): olmo imports OLMo "
        f"(model_type 'olmo', OlmoForCausalLM) and OLMo-2 (model_type 'olmo2', Olmo2ForCausalLM) models only\n"))
    assert not (tmp_path / "out").exists()


def test_a_plugins_eval_model_runtime_is_asked_before_the_built_ins(tmp_path: Path, register_plugin: Any) -> None:
    """docs/plugins.md: a plugin's runtimes are asked before olmo's ``olmo``, ``hf`` and ``transformers``, so that
    it can take over a directory olmo recognises (here an olmo step directory)."""
    from olmo_core.model_commands import eval_model_runtimes, find_model

    class TakeOver:
        def find(self, path: Path) -> Path | None:
            return path if (path / "manifest.json").is_file() else None

    class Plugin:
        @hookimpl
        def olmo_register_eval_models(self, register: Any) -> None:
            register("takeover", TakeOver)
            register("takeover2", TakeOver)

    register_plugin(Plugin(), "takeover-plugin")
    (tmp_path / "manifest.json").write_text("{}")
    assert [entry.name for entry in eval_model_runtimes()] == ["takeover", "takeover2", "olmo", "hf", "transformers"]
    directory, kind, runtime = find_model(tmp_path)
    assert (directory, kind, type(runtime)) == (tmp_path, "takeover", TakeOver)
