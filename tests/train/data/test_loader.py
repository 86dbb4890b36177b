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
    with pytest.raises(ConfigError, match="fingerprint"):
        other.load_state_dict(state)
    dataset = FSLDataset(token_dirs, seq_len=SEQ)
    with pytest.raises(ConfigError, match="whole number"):
        DataLoader(dataset, work_dir=tmp_path, global_batch_size=SEQ * 3 + 1)
    with pytest.raises(ConfigError, match="world size"):
        DataLoader(dataset, work_dir=tmp_path, global_batch_size=SEQ * 3, world_size=2)
