from __future__ import annotations

import json
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


def test_read_hf_tokenizer_takes_special_tokens_from_tokenizer_config(olmo_tokenizer: Tokenizer, tmp_path: Path) -> None:
    from olmo_core.tokenizer import read_hf_tokenizer

    assert read_hf_tokenizer(tmp_path) is None
    olmo_tokenizer.save(str(tmp_path))
    plain = read_hf_tokenizer(tmp_path)
    assert plain is not None and (plain.eos_token, plain.pad_token) == ("<|endoftext|>", None)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(
        {"eos_token": {"content": "<|padding|>", "lstrip": False}, "pad_token": "<|endoftext|>"}))
    hf = read_hf_tokenizer(tmp_path)
    assert hf is not None and (hf.eos_token_id, hf.pad_token_id) == (1, 50279)
    assert hf.name == f"{tmp_path.name}/tokenizer.json" and hf.sha256 == olmo_tokenizer.sha256


def test_check_tokenizer_fits_names_the_first_problem(olmo_tokenizer: Tokenizer) -> None:
    from olmo_core.tokenizer import check_tokenizer_fits

    check_tokenizer_fits(olmo_tokenizer, where="m", hint="h", identity=olmo_tokenizer.identity, vocab_size=50304,
                         eos_token_id=50279)
    check_tokenizer_fits(olmo_tokenizer, where="m", hint="h", identity={"name": "old"})  # no sha256 recorded
    with pytest.raises(ConfigError, match=r"^the tokenizer olmo-v1.5 does not match the tokenizer saved with m "
                                          r"\(other, sha256 0123456789ab\): h$"):
        check_tokenizer_fits(olmo_tokenizer, where="m", hint="h", identity={"name": "other", "sha256": "0123456789abcd"})
    with pytest.raises(ConfigError, match=r"^m: the tokenizer olmo-v1.5 has 50,280 tokens but the model's "
                                          r"vocabulary has 1,000: h$"):
        check_tokenizer_fits(olmo_tokenizer, where="m", hint="h", vocab_size=1000, eos_token_id=0)
    with pytest.raises(ConfigError, match=r"^m: the tokenizer olmo-v1.5 ends documents with id 50279 but the "
                                          r"model's EOS id is 0: h$"):
        check_tokenizer_fits(olmo_tokenizer, where="m", hint="h", vocab_size=50304, eos_token_id=0)


@pytest.mark.parametrize("name", ["olmo-v1.5", "dolma2"])
def test_pieces_of_a_long_text_join_into_its_ids(name: str) -> None:
    import inspect
    import tarfile

    # Real prose (docstrings) and real code (indentation, blank lines, punctuation before newlines).
    text = "\n\n".join([*(str(d["text"]) for d in stdlib_documents()), inspect.getsource(tarfile)])
    tokenizer = load_tokenizer(name)
    pieces = list(tokenizer.encode_pieces(text, window=997))
    assert len(pieces) > len(text) // 2000
    assert [i for piece in pieces for i in piece] == tokenizer.encode(text)
    assert list(tokenizer.encode_pieces("x" * 3000, window=997)) == [tokenizer.encode("x" * 3000)]  # no place to cut


def test_a_tokenizer_that_is_not_byte_level_encodes_a_long_text_whole() -> None:
    from tokenizers import Tokenizer as HFTokenizer
    from tokenizers import models, pre_tokenizers

    backend = HFTokenizer(models.WordLevel({"<|endoftext|>": 0, "[UNK]": 1, "a": 2, "b": 3}, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer = Tokenizer(backend, name="metaspace", json_text=backend.to_str(), eos_token="<|endoftext|>")
    assert list(tokenizer.encode_pieces("a b " * 1000, window=100)) == [tokenizer.encode("a b " * 1000)]
