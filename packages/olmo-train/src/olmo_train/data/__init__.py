"""Pretraining data: fixed-length instances over token arrays and a resumable, seeded data loader.

``DataLoaderConfig(paths=[...], seq_len=..., global_batch_size=...).build(work_dir, rank=r, world_size=w)``
gives a :class:`DataLoader`; iterate it for batches, save :meth:`DataLoader.state_dict` with checkpoints.
"""

from __future__ import annotations

from olmo_train.data.config import DataLoaderConfig
from olmo_train.data.dataset import FSLDataset, Piece
from olmo_train.data.loader import DataLoader

__all__ = ["DataLoader", "DataLoaderConfig", "FSLDataset", "Piece"]
