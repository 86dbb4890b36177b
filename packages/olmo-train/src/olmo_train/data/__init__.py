"""Pretraining data: fixed-length instances over token arrays and a resumable, seeded data loader.

``DataLoaderConfig(paths=[...], seq_len=..., global_batch_size=...).build(work_dir, rank=r, world_size=w)``
gives a :class:`DataLoader`; iterate it for batches, save :meth:`DataLoader.state_dict` with checkpoints.
"""

from __future__ import annotations

import importlib
from typing import Any

from olmo_train.data.config import DataLoaderConfig

__all__ = ["DataLoader", "DataLoaderConfig", "FSLDataset", "Piece"]

_LAZY = {"DataLoader": "olmo_train.data.loader", "FSLDataset": "olmo_train.data.dataset",
         "Piece": "olmo_train.data.dataset"}


def __getattr__(name: str) -> Any:  # torch is imported only when the loader itself is used
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'olmo_train.data' has no attribute {name!r}")
