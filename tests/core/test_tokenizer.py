from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from olmo_core.errors import ConfigError, UnknownComponentError
from olmo_core.tokenizer import Tokenizer, load_tokenizer
from tests.conftest import stdlib_documents


@pytest.fixture(scope="module")
def olmo_tokenizer() -> Tokenizer:
    return load_tokenizer("olmo-v1.5")


def test_olmo_tokenizer_ids_and_conventions(olmo_tokenizer: Tokenizer) -> None:
    # GPT-NeoX-20B's BPE: "Hello" is 12092 and " world" 1533; OLMo's EOS is 50279 and padding 1.
    assert olmo_tokenizer.encode("Hello world") == [12092, 1533]
    assert olmo_tokenizer.encode("Hello world", add_eos=True) == [12092, 1533, 50279]
    assert (olmo_tokenizer.eos_token_id, olmo_tokenizer.pad_token_id, olmo_tokenizer.vocab_size) == (50279, 1, 50280)
    assert [olmo_tokenizer.backend.token_to_id(t) for t in
            ("|||IP_ADDRESS|||", "|||EMAIL_ADDRESS|||", "|||PHONE_NUMBER|||")] == [0, 50277, 50278]


def test_round_trip_on_real_text(olmo_tokenizer: Tokenizer) -> None:
    texts = [str(d["text"]) for d in stdlib_documents()]
    for text, ids in zip(texts, olmo_tokenizer.encode_batch(texts), strict=True):
        assert olmo_tokenizer.decode(ids) == text


def test_identity_records_the_exact_file(olmo_tokenizer: Tokenizer) -> None:
    identity = olmo_tokenizer.identity
    assert identity["name"] == "olmo-v1.5" and len(identity["sha256"]) == 64


def test_load_from_a_directory_and_errors(olmo_tokenizer: Tokenizer, tmp_path: Path) -> None:
    olmo_tokenizer.save(str(tmp_path))
    again = load_tokenizer(str(tmp_path))
    assert again.encode("Call me Ishmael.") == olmo_tokenizer.encode("Call me Ishmael.")
    assert again.sha256 == olmo_tokenizer.sha256
    with pytest.raises(ConfigError, match="no tokenizer file at"):
        load_tokenizer(str(tmp_path / "missing"))
    with pytest.raises(UnknownComponentError, match=r"unknown tokenizer 'olmo-v15' \(did you mean 'olmo-v1.5'\?\)"):
        load_tokenizer("olmo-v15")
    with pytest.raises(ConfigError, match="has no EOS token"):
        Tokenizer.from_file(str(tmp_path), eos_token="</s>")


def test_train_command(dataset: Path, tmp_path: Path, olmo_cli: object) -> None:
    out = tmp_path / "tok"
    result = olmo_cli("tokenizer", "train", f"input={dataset}", f"output={out}", "vocab_size=600")  # type: ignore[operator]
    assert result.exit_code == 0, result.err
    tokenizer = Tokenizer.from_file(str(out), pad_token="<|padding|>")
    assert tokenizer.vocab_size == 600
    assert [tokenizer.backend.id_to_token(i) for i in range(5)] == [
        "|||IP_ADDRESS|||", "<|padding|>", "|||EMAIL_ADDRESS|||", "|||PHONE_NUMBER|||", "<|endoftext|>"]
    texts = [str(d["text"]) for d in stdlib_documents()]
    assert all(tokenizer.decode(tokenizer.encode(t)) == t for t in texts)
    report = json.loads((out / "report.json").read_text())
    total_bytes = sum(len(t.encode()) for t in texts)
    total_tokens = sum(len(tokenizer.encode(t)) for t in texts)
    assert report["documents"] == len(texts) and report["bytes"] == total_bytes
    assert report["bytes_per_token"] == round(total_bytes / total_tokens, 4)
    assert report["bytes_per_token"] > 2.0


def test_load_from_an_fsspec_url(olmo_tokenizer: Tokenizer) -> None:
    import fsspec

    with fsspec.open("memory://tokenizers/olmo/tokenizer.json", "w") as f:
        f.write(olmo_tokenizer.json_text)
    remote = load_tokenizer("memory://tokenizers/olmo")
    assert remote.sha256 == olmo_tokenizer.sha256 and remote.encode("Hello world") == [12092, 1533]
