"""The pretraining data loader: a seeded global order saved with the run, sliced per rank, resumable.

Epoch ``E`` (from 1) visits the instances in the order of ``Generator(PCG64(seed + E)).permutation(N)``,
saved once to ``<work_dir>/global_indices_size{N}_seed{S}_epoch{E}.npy`` and reused. Step ``k`` of an epoch
takes the next ``global_batch_size // seq_len`` instances of that order; rank ``r`` of ``W`` takes
``batch[r::W]``. The incomplete last batch of an epoch is dropped. The state counts instances consumed in
the epoch, so a run can resume at another world size (or batch size) exactly where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from olmo_core.errors import ConfigError
from olmo_core.io import open_atomic, write_text
from olmo_train.data.dataset import FSLDataset

__all__ = ["DataLoader", "global_indices"]

SETTINGS_FILE = "loader.json"


def global_indices(size: int, seed: int, epoch: int) -> np.ndarray[Any, Any]:
    """The order of epoch ``epoch``: a permutation of ``range(size)`` from ``PCG64(seed + epoch)``."""
    dtype = np.uint32 if size < 2**32 else np.uint64
    return np.random.Generator(np.random.PCG64(seed + epoch)).permutation(size).astype(dtype)


def _mismatch(dataset: FSLDataset, saved: dict[str, Any] | None) -> str:
    """Why the data do not match a checkpoint whose loader state described them as ``saved`` (None: a
    checkpoint that did not record them)."""
    what = "; ".join(dataset.differences(saved)) if saved is not None else None
    return ((f"the data differ from the checkpoint's: {what}" if what else
             "the data differ from the checkpoint's (dataset fingerprint mismatch)")
            + ": resume with the same token arrays (in the same order) and seq_len, or use a new output=")


class DataLoader:
    """Batches of one rank, in the run's global order, with :meth:`state_dict` for exact resume.

    Rank 0 writes the settings (token directories, seq_len, global batch, seed, fingerprint) to
    ``<work_dir>/loader.json`` for ``olmo data inspect-batch``, unless ``save_settings`` is false.
    """

    def __init__(self, dataset: FSLDataset, *, work_dir: str | Path, global_batch_size: int, seed: int = 0,
                 doc_masking: bool = False, rank: int = 0, world_size: int = 1, save_settings: bool = True) -> None:
        per_batch, rest = divmod(global_batch_size, dataset.seq_len)
        if rest or per_batch < 1:
            raise ConfigError(f"global_batch_size={global_batch_size} is not a whole number of instances of "
                              f"seq_len={dataset.seq_len} tokens")
        if per_batch % world_size or not 0 <= rank < world_size:
            raise ConfigError(f"a global batch of {per_batch} instances does not split over {world_size} ranks "
                              f"(rank {rank}): make it a multiple of the world size")
        if len(dataset) < per_batch:
            raise ConfigError(f"the dataset has {len(dataset)} instances, fewer than one batch of {per_batch}")
        self.dataset, self.seed, self.doc_masking = dataset, seed, doc_masking
        self.global_batch_size, self.instances_per_batch = global_batch_size, per_batch
        self.rank, self.world_size = rank, world_size
        self.work_dir = Path(work_dir)
        self.fingerprint = dataset.fingerprint()
        self.epoch, self.instances_consumed = 1, 0
        if rank == 0 and save_settings:
            self._save_settings()

    @property
    def batches_per_epoch(self) -> int:
        """Global batches in a full epoch."""
        return len(self.dataset) // self.instances_per_batch

    def _save_settings(self) -> None:
        settings = {"paths": self.dataset.paths, "seq_len": self.dataset.seq_len,
                    "global_batch_size": self.global_batch_size, "seed": self.seed,
                    "max_doc_pieces": self.dataset.max_doc_pieces, "instances": len(self.dataset),
                    "fingerprint": self.fingerprint}
        write_text(str(self.work_dir / SETTINGS_FILE), json.dumps(settings, indent=2) + "\n")

    def indices(self, epoch: int) -> np.ndarray[Any, Any]:
        """The global order of ``epoch``, read from the work directory or drawn and saved there."""
        size = len(self.dataset)
        path = self.work_dir / f"global_indices_size{size}_seed{self.seed}_epoch{epoch}.npy"
        if not path.is_file():
            with open_atomic(str(path)) as f:
                np.save(f, global_indices(size, self.seed, epoch))
        order = np.load(path, mmap_mode="r")
        if order.shape != (size,):
            raise ConfigError(f"{path} holds {order.shape[0]} indices, not {size}: delete it or use another work_dir")
        return order

    def global_batch(self, epoch: int, batch: int) -> np.ndarray[Any, Any]:
        """Instance indices of global batch ``batch`` (from 0) of ``epoch``, all ranks together."""
        start = batch * self.instances_per_batch
        return np.asarray(self.indices(epoch)[start:start + self.instances_per_batch], dtype=np.int64)

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        """This rank's batches from the current position to the end of the epoch; the next epoch follows on
        the next iteration. The state counts a batch as consumed when it is yielded."""
        if self.instances_consumed + self.instances_per_batch > len(self.dataset):
            self.epoch, self.instances_consumed = self.epoch + 1, 0
        order = self.indices(self.epoch)
        while self.instances_consumed + self.instances_per_batch <= len(order):
            start = self.instances_consumed
            chosen = np.asarray(order[start:start + self.instances_per_batch], dtype=np.int64)
            self.instances_consumed += self.instances_per_batch
            yield self.collate(chosen[self.rank::self.world_size])
        self.epoch, self.instances_consumed = self.epoch + 1, 0

    def collate(self, indices: np.ndarray[Any, Any]) -> dict[str, torch.Tensor]:
        """``{"index", "input_ids"}`` (int64, one row per instance), plus ``doc_lens`` (int32, rows
        zero-padded to ``max_doc_pieces``) when document masking is on."""
        items = [self.dataset[int(i)] for i in indices]
        batch = {"index": torch.from_numpy(indices.astype(np.int64)),
                 "input_ids": torch.stack([item["input_ids"] for item in items])}
        if self.doc_masking:
            batch["doc_lens"] = torch.stack([item["doc_lens"] for item in items])
        return batch

    def state_dict(self) -> dict[str, Any]:
        """A JSON-able state: epoch, instances consumed in it, seed, the dataset fingerprint and what it is
        computed from (``data``, for a mismatch to say what differs)."""
        return {"epoch": self.epoch, "instances_consumed": self.instances_consumed, "seed": self.seed,
                "fingerprint": self.fingerprint, "data": self.dataset.describe()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state``: the next batch is the one after the last batch the saved loader yielded."""
        if state["fingerprint"] not in (self.fingerprint, self.dataset.legacy_fingerprint()):
            raise ConfigError(_mismatch(self.dataset, state.get("data")))
        if state["seed"] != self.seed:
            raise ConfigError(f"the checkpoint's data seed is {state['seed']}, this loader's {self.seed}")
        self.epoch, self.instances_consumed = int(state["epoch"]), int(state["instances_consumed"])
