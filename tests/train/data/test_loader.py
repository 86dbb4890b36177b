from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from olmo_core.errors import ConfigError
from olmo_train.data import DataLoader, DataLoaderConfig, FSLDataset
from tests.train.data.helpers import take

SEQ, PER_BATCH, SEED = 32, 4, 7


def loader(dirs: list[Path], work: Path, *, rank: int = 0, world: int = 1, **kw: object) -> DataLoader:
    config = DataLoaderConfig(paths=[str(d) for d in dirs], seq_len=SEQ, global_batch_size=PER_BATCH * SEQ,
                              seed=SEED, **kw)  # type: ignore[arg-type]
    return config.build(work, rank=rank, world_size=world)


def ranks_take(loaders: list[DataLoader], steps: int) -> list[list[int]]:
    """Per step, the instances of all ranks in global-batch order (rank r holds batch[r::W])."""
    per_rank = [take(each, steps) for each in loaders]
    out = []
    for step in range(steps):
        merged = [0] * PER_BATCH
        for rank, rows in enumerate(per_rank):
            merged[rank::len(loaders)] = rows[step]
        out.append(merged)
    return out


def test_order_is_pcg64_of_seed_plus_epoch_saved_once(token_dirs: list[Path], tmp_path: Path) -> None:
    data = loader(token_dirs, tmp_path)
    size = len(data.dataset)
    for epoch in (1, 2):
        drawn = np.random.Generator(np.random.PCG64(SEED + epoch)).permutation(size)
        saved = tmp_path / f"global_indices_size{size}_seed{SEED}_epoch{epoch}.npy"
        assert data.indices(epoch).tolist() == drawn.tolist()
        assert np.load(saved).dtype == np.uint32
    saved = tmp_path / f"global_indices_size{size}_seed{SEED}_epoch1.npy"
    np.save(saved, np.arange(size, dtype=np.uint32))
    assert data.indices(1).tolist() == list(range(size))
    settings = json.loads((tmp_path / "loader.json").read_text())
    assert settings["seq_len"] == SEQ and settings["global_batch_size"] == PER_BATCH * SEQ
    assert settings["seed"] == SEED and settings["paths"] == [str(d.resolve()) for d in token_dirs]


@pytest.mark.parametrize("world", [1, 2])
def test_every_instance_once_per_epoch_over_ranks(token_dirs: list[Path], tmp_path: Path, world: int) -> None:
    loaders = [loader(token_dirs, tmp_path, rank=r, world=world) for r in range(world)]
    steps = loaders[0].batches_per_epoch
    seen = [i for step in ranks_take(loaders, steps) for i in step]
    order = loaders[0].indices(1)
    assert len(seen) == len(set(seen)) == steps * PER_BATCH
    assert seen == order[:steps * PER_BATCH].tolist()
    batch = next(iter(loaders[-1]))
    assert batch["input_ids"].shape == (PER_BATCH // world, SEQ) and "doc_lens" not in batch


@pytest.mark.parametrize("world", [1, 2])
@pytest.mark.parametrize("where", ["mid-epoch", "epoch-end", "next-epoch"])
def test_resume_continues_exactly(token_dirs: list[Path], tmp_path: Path, world: int, where: str) -> None:
    first = loader(token_dirs, tmp_path / "run")
    stop = {"mid-epoch": 5, "epoch-end": first.batches_per_epoch, "next-epoch": first.batches_per_epoch + 2}[where]
    full = take(loader(token_dirs, tmp_path / "full"), stop + 40)
    assert take(first, stop) == full[:stop]
    state = json.loads(json.dumps(first.state_dict()))
    resumed = [loader(token_dirs, tmp_path / "run", rank=r, world=world) for r in range(world)]
    for each in resumed:
        each.load_state_dict(state)
    rest = ranks_take(resumed, 40)
    assert rest == full[stop:]
    assert all(len(set(step)) == PER_BATCH for step in rest)
    per_epoch = first.batches_per_epoch
    epoch_one = [i for step in (full[:stop] + rest)[:per_epoch] for i in step]
    assert len(epoch_one) == len(set(epoch_one))


def test_doc_lens_in_batches(token_dirs: list[Path], tmp_path: Path) -> None:
    batch = next(iter(loader(token_dirs, tmp_path, doc_masking=True, max_doc_pieces=6)))
    assert batch["doc_lens"].shape == (PER_BATCH, 6) and (batch["doc_lens"].sum(1) == SEQ).all()


def test_changed_data_or_bad_batch_is_refused(token_dirs: list[Path], tmp_path: Path) -> None:
    state = loader(token_dirs, tmp_path).state_dict()
    other = loader(token_dirs[:1], tmp_path / "other")
    with pytest.raises(ConfigError, match=r"^the data differ from the checkpoint's: parts 3 -> 1: resume with"):
        other.load_state_dict(state)
    dataset = FSLDataset(token_dirs, seq_len=SEQ)
    with pytest.raises(ConfigError, match="whole number"):
        DataLoader(dataset, work_dir=tmp_path, global_batch_size=SEQ * 3 + 1)
    with pytest.raises(ConfigError, match="world size"):
        DataLoader(dataset, work_dir=tmp_path, global_batch_size=SEQ * 3, world_size=2)


def test_copied_or_renamed_token_directories_resume_and_old_checkpoints_still_do(token_dirs: list[Path],
                                                                                 tmp_path: Path) -> None:
    import shutil

    first = loader(token_dirs, tmp_path / "run")
    take(first, 2)
    state = first.state_dict()
    copies = [tmp_path / "copy_of_a", tmp_path / "elsewhere" / "renamed_b"]
    for source, copy in zip(token_dirs, copies):
        shutil.copytree(source, copy)
    resumed = loader(copies, tmp_path / "run")
    resumed.load_state_dict(state)
    assert take(resumed, 1) == take(first, 1)
    legacy = {**state, "fingerprint": first.dataset.legacy_fingerprint()}
    del legacy["data"]  # a checkpoint saved before the fingerprint left out the folders' names
    again = loader(token_dirs, tmp_path / "run")
    again.load_state_dict(legacy)
    assert (again.epoch, again.instances_consumed) == (1, 2 * PER_BATCH)
    with pytest.raises(ConfigError, match=r"^the data differ from the checkpoint's \(dataset fingerprint mismatch\)"):
        loader(copies, tmp_path / "run").load_state_dict(legacy)  # the old form names the folders


def test_a_data_mismatch_lists_what_differs(token_dirs: list[Path], tmp_path: Path) -> None:
    state = loader(token_dirs, tmp_path).state_dict()
    assert [part[:4] for part in state["data"]["parts"]] == [
        [0, "part-00000.npy", "uint16", 2551], [1, "part-00000.npy", "uint16", 647],
        [1, "part-00001.npy", "uint16", 785]]
    a, b0, b1 = (part[4][:12] for part in state["data"]["parts"])
    with pytest.raises(ConfigError) as refused:
        loader(token_dirs[::-1], tmp_path / "swapped").load_state_dict(state)
    assert str(refused.value) == (
        f"the data differ from the checkpoint's: part 1: tokens 2551 -> 647, sha256 {a} -> {b0}; part 2: directory "
        f"1 -> 0, name part-00000.npy -> part-00001.npy, tokens 647 -> 785, sha256 {b0} -> {b1}; part 3: name "
        f"part-00001.npy -> part-00000.npy, tokens 785 -> 2551, sha256 {b1} -> {a}: resume with the same token arrays "
        "(in the same order) and seq_len, or use a new output=")
