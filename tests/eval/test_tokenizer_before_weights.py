"""``olmo eval downstream`` on a model directory without a tokenizer fails in one line before any weights load."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from olmo_core.model_io import save_model
from olmo_core.plugins import get_host

from tests.eval.conftest import TINY, tiny_model


def olmo_without_tokenizer(directory: Path) -> Path:
    _, config = get_host().registry("models").resolve("olmo")
    for f in dataclasses.fields(TINY):
        setattr(config, f.name, getattr(TINY, f.name))
    return save_model(directory / "step000001", tiny_model(), config)


def hf_without_tokenizer(directory: Path) -> Path:
    """What makes a transformers directory (config.json and safetensors), without transformers: nothing loads it."""
    (directory / "hf").mkdir()
    (directory / "hf" / "config.json").write_text('{"model_type": "olmo"}')
    (directory / "hf" / "model.safetensors").write_bytes(b"")
    return directory / "hf"


@pytest.mark.parametrize("make", [olmo_without_tokenizer, hf_without_tokenizer], ids=["olmo", "hf"])
def test_no_tokenizer_fails_before_the_weights_load(make: Any, tmp_path: Path, olmo_cli: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import olmo_core.model_io
    import olmo_core.nn.hf

    model_dir = make(tmp_path)
    loads: list[str] = []

    def refuse(path: Any, *args: Any, **kwargs: Any) -> Any:
        loads.append(str(path))
        raise RuntimeError("the weights were loaded")

    monkeypatch.setattr(olmo_core.model_io, "load_model", refuse)
    monkeypatch.setattr(olmo_core.nn.hf, "load_hf", refuse)
    result = olmo_cli("eval", "downstream", f"checkpoint={model_dir}", f"output={tmp_path / 'out'}", "tasks=[copa]")
    assert result.exit_code != 0
    assert loads == []
    lines = [line for line in result.err.splitlines() if "tokenizer" in line]
    assert len(lines) == 1 and str(model_dir) in lines[0] and "tokenizer=<name or path>" in lines[0]
    assert "Traceback" not in result.err
