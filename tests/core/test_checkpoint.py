from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from olmo_core.checkpoint import (
    CheckpointError,
    checkpoint_dirs,
    latest_checkpoint,
    load_checkpoint,
    load_model_state,
    save_checkpoint,
    step_dir,
)


def small_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(8, 16, bias=False), torch.nn.LayerNorm(16), torch.nn.Linear(16, 4))


def test_save_load_save_is_byte_identical(tmp_path: Path) -> None:
    model = small_model()
    first = save_checkpoint(step_dir(tmp_path / "a", 3), tensors={"model": model.state_dict()},
                            documents={"trainer": {"step": 3, "tokens": 1536}})
    loaded = load_checkpoint(first)
    assert loaded.step == 3 and loaded.documents["trainer"] == {"step": 3, "tokens": 1536}
    other = small_model(seed=1)
    load_model_state(other, loaded.tensors["model"])
    second = save_checkpoint(step_dir(tmp_path / "b", 3), tensors={"model": other.state_dict()},
                             documents={"trainer": loaded.documents["trainer"]})
    for name in ("model.safetensors", "trainer.json", "manifest.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_altered_file_is_refused(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "step000001", tensors={"model": small_model().state_dict()})
    data = bytearray((path / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (path / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="does not match its sha256 in the manifest"):
        load_checkpoint(path)


def test_pickle_files_are_never_loaded(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "step000001", tensors={"model": small_model().state_dict()})
    torch.save({"x": 1}, path / "extra.pt")
    with pytest.raises(CheckpointError, match=r"refusing to load .*extra\.pt: only safetensors and JSON"):
        load_checkpoint(path)


def test_mismatched_model_lists_every_problem(tmp_path: Path) -> None:
    state = small_model().state_dict()
    state.pop("1.weight")
    state["9.weight"] = torch.zeros(3)
    state["2.weight"] = torch.zeros(5, 16)
    with pytest.raises(CheckpointError) as info:
        load_model_state(small_model(), state)
    assert str(info.value) == ("the checkpoint does not fit the model: missing: 1.weight | unexpected: 9.weight | "
                               "mis-shaped (checkpoint != model): 2.weight (5, 16) != (4, 16)")


def test_replacing_a_checkpoint_keeps_one_complete_copy(tmp_path: Path) -> None:
    path = step_dir(tmp_path, 1)
    save_checkpoint(path, tensors={"model": {"w": torch.zeros(2)}})
    save_checkpoint(path, tensors={"model": {"w": torch.ones(2)}})
    assert torch.equal(load_checkpoint(path).tensors["model"]["w"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["step000001"]


WRITER = """
import sys, time, torch
import olmo_core.checkpoint as checkpoint
from olmo_core.checkpoint import save_checkpoint, step_dir
root = sys.argv[1]
slow_disk = checkpoint._fsync
checkpoint._fsync = lambda path: (time.sleep(0.5), slow_disk(path))  # a slow disk: a wide window to kill in
save_checkpoint(step_dir(root, 1), tensors={"model": {"w": torch.arange(10.0)}}, documents={"trainer": {"step": 1}})
print("saved step 1", flush=True)
big = {f"t{i}": torch.full((1_000_000,), float(i)) for i in range(16)}
save_checkpoint(step_dir(root, 2), tensors={"model": big}, documents={"trainer": {"step": 2}})
print("saved step 2", flush=True)
"""


def test_killed_writer_never_leaves_a_loadable_partial_checkpoint(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "saved step 1"
    deadline = time.monotonic() + 60
    partial: list[Path] = []
    while time.monotonic() < deadline and not partial:
        partial = [p for p in tmp_path.glob(".step000002.tmp-*") if any(p.iterdir())]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    assert partial, "the writer was not caught in the middle of writing step 2"
    assert child.returncode == -signal.SIGKILL
    assert [p.name for p in checkpoint_dirs(tmp_path)] == ["step000001"]
    assert latest_checkpoint(tmp_path) == step_dir(tmp_path, 1)
    assert torch.equal(load_checkpoint(step_dir(tmp_path, 1)).tensors["model"]["w"], torch.arange(10.0))
    with pytest.raises(CheckpointError, match="no manifest.json"):
        load_checkpoint(partial[0])
    assert json.loads((step_dir(tmp_path, 1) / "trainer.json").read_text()) == {"step": 1}


def save_sharded(path: Path, state: dict[str, dict[str, torch.Tensor]], documents: dict[str, object]) -> Path:
    """Write ``state`` as a sharded checkpoint from this one process (torch distributed checkpoint, no group)."""
    import warnings

    import torch.distributed.checkpoint as dcp

    from olmo_core.checkpoint import SHARDS, staging_dir

    staged = staging_dir(path)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="torch.distributed is disabled")
        dcp.save(state, storage_writer=dcp.HuggingFaceStorageWriter(str(staged / SHARDS), save_distributed=True),
                 no_dist=True)
    return save_checkpoint(path, tensors={}, documents=documents, staged=staged,
                           sharded={"world_size": 1, "groups": sorted(state)})


def test_a_sharded_checkpoint_is_verified_and_loads_without_a_process_group(tmp_path: Path) -> None:
    from olmo_core.checkpoint import is_sharded, load_sharded, verify_checkpoint

    model = small_model()
    path = save_sharded(step_dir(tmp_path, 5), {"model": model.state_dict()}, {"trainer": {"step": 5}})
    manifest = verify_checkpoint(path)
    assert is_sharded(path) and manifest["sharded"] == {"directory": "shards", "world_size": 1, "groups": ["model"]}
    assert [f for f in manifest["files"] if f.startswith("shards/")] and not (path / "model.safetensors").exists()
    assert load_checkpoint(path).documents["trainer"] == {"step": 5} and latest_checkpoint(tmp_path) == path
    other = small_model(seed=1)
    load_sharded(path, {"model": other.state_dict()})
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True))
    bigger = torch.nn.Sequential(torch.nn.Linear(8, 32, bias=False))
    with pytest.raises(CheckpointError, match="does not fit"):
        load_sharded(path, {"model": bigger.state_dict()})
    shard = next((path / "shards").iterdir())
    shard.write_bytes(shard.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(CheckpointError, match="does not match its sha256"):
        verify_checkpoint(path)
    (path / "shards" / "extra.bin").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="refusing to load"):
        verify_checkpoint(path)


def test_step_dir_pads_the_step_to_six_digits(tmp_path: Path) -> None:
    assert step_dir(tmp_path, 42) == tmp_path / "step000042"
    assert step_dir(str(tmp_path), 1_234_567).name == "step1234567"


def test_a_transformers_model_directory_is_named_as_such_with_the_import_command(tmp_path: Path) -> None:
    """A directory with a transformers config.json and no manifest is not called an incomplete (broken) olmo
    checkpoint: the refusal says what it is and how to convert it; one without config.json keeps the old words."""
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text('{"model_type": "olmo"}')
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path / "hf")
    said = str(info.value)
    assert "looks like a transformers (Hugging Face) model directory" in said and "not a complete" not in said
    assert f"`olmo model import-hf checkpoint={tmp_path / 'hf'} output=<dir>` converts it" in said
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="has no manifest.json: it is not a complete olmo checkpoint"):
        load_checkpoint(tmp_path / "empty")
