"""Real token arrays for the data-loader tests: stdlib docstrings tokenized with OLMo's tokenizer."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from olmo_core.token_arrays import TokenArrayWriter
from olmo_core.tokenizer import load_tokenizer

# Parts of directory "b", each a list of modules whose docstrings are its documents.
B_PARTS = (("csv", "gzip", "zipfile"), ("unittest", "doctest", "functools"))


@pytest.fixture(scope="session")
def token_dirs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two token-array directories: "a" from ``olmo data tokenize`` (one part), "b" written directly (two
    parts)."""
    import gzip
    import json

    from olmo_data.commands.tokenize import TokenizeConfig, tokenize
    from tests.conftest import stdlib_documents

    root = tmp_path_factory.mktemp("tokens")
    documents = root / "docs" / "documents" / "docs.jsonl.gz"
    documents.parent.mkdir(parents=True)
    with gzip.open(documents, "wt", encoding="utf-8") as f:
        for record in stdlib_documents():
            f.write(json.dumps(record) + "\n")
    tokenize(TokenizeConfig(), str(root / "docs"), str(root / "a"))
    tokenizer = load_tokenizer("olmo-v1.5")
    for number, modules in enumerate(B_PARTS):
        writer = TokenArrayWriter(root / "b" / f"part-{number:05d}", tokenizer=tokenizer.identity,
                                  eos_token_id=tokenizer.eos_token_id, vocab_size=tokenizer.vocab_size)
        for line, name in enumerate(modules, start=1):
            text = (importlib.import_module(name).__doc__ or "").strip()
            writer.add(tokenizer.encode(text), document_id=f"b-{name}", source=f"src-{number}", line=line)
        writer.close()
    return [root / "a", root / "b"]
