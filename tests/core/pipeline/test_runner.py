"""A pipeline's path inputs: known by their content, read once while they stay unchanged."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest

from olmo_core import cache, io


def test_an_unchanged_path_input_is_not_read_again(dataset: Path, tmp_path: Path, olmo_cli: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    documents = dataset / "documents" / "docs.jsonl.gz"
    reads: list[str] = []
    sha256_file = io.sha256_file
    monkeypatch.setattr(cache, "sha256_file", lambda path: reads.append(Path(path).name) or sha256_file(path))
    args = ("pipeline", "name=p", f"runs_dir={tmp_path / 'runs'}", "stages=[tag]",
            "stages.tag.taggers=[gopher_quality]", f"inputs.tag.input={dataset}")
    assert olmo_cli(*args).exit_code == 0
    assert reads.count(documents.name) == 1
    cache.forget()  # as a new olmo process would start
    assert "0 stages ran, 1 reused" in olmo_cli(*args).err
    assert reads.count(documents.name) == 1
    with gzip.open(documents, "at", encoding="utf-8") as f:
        f.write('{"id": "more", "text": "One more document."}\n')
    assert "1 stages ran, 0 reused" in olmo_cli(*args).err
    assert reads.count(documents.name) == 2
