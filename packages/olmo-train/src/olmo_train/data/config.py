"""The data loader's configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from olmo_core.config import non_negative, positive

if TYPE_CHECKING:
    from olmo_train.data.loader import DataLoader


@dataclass(kw_only=True)
class DataLoaderConfig:
    """Options of the pretraining data loader (OLMo's fixed-sequence-length memmap data)."""

    paths: list[str] = field(default_factory=list)
    """Token-array directories (written by ``olmo data tokenize``); their parts are read in this order,
    each directory's parts in name order."""
    seq_len: int = positive(2048)
    """Tokens per instance; each part is cut into ``len // seq_len`` instances, its tail dropped."""
    global_batch_size: int = positive(4 * 2048)
    """Tokens per optimizer step over all ranks: a whole number of instances, divisible by the world size."""
    seed: int = non_negative(0)
    """Seed of the data order: epoch ``E`` is the permutation drawn by ``PCG64(seed + E)``."""
    doc_masking: bool = False
    """Add ``doc_lens`` to batches (lengths of the document pieces of each instance) for intra-document
    attention masks."""
    max_doc_pieces: int | None = positive(None)
    """Width of ``doc_lens``: the most document pieces an instance may hold (None: ``seq_len``, the most
    possible); ``doc_lens`` rows are zero-padded to it."""

    def build(self, work_dir: str | Path, *, rank: int = 0, world_size: int = 1) -> DataLoader:
        """The loader of rank ``rank`` of ``world_size``, saving its order and settings in ``work_dir``."""
        from olmo_train.data.dataset import FSLDataset
        from olmo_train.data.loader import DataLoader

        dataset = FSLDataset(self.paths, seq_len=self.seq_len, max_doc_pieces=self.max_doc_pieces)
        return DataLoader(dataset, work_dir=work_dir, global_batch_size=self.global_batch_size, seed=self.seed,
                          doc_masking=self.doc_masking, rank=rank, world_size=world_size)
