"""``olmo data inspect-batch``: which instances, documents and sources a training step saw."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_core.config import REQUIRED, positive
from olmo_core.errors import ConfigError

__all__ = ["InspectBatchConfig", "inspect_batch_command"]


@dataclass(kw_only=True)
class InspectBatchConfig:
    """Options of ``olmo data inspect-batch``."""

    run: str = REQUIRED
    """A training run's directory (its ``data/`` holds the data loader's ``loader.json`` and global indices), or
    that ``data/`` folder itself."""
    step: int = positive(1)
    """The optimizer step (from 1, counted over epochs) whose global batch to show; assumes the run kept
    its global batch size."""


def inspect_batch_command(config: InspectBatchConfig) -> list[dict[str, Any]]:
    """Print every instance of a step's global batch: its index and the document ids and sources in it."""
    from olmo_train.data.dataset import FSLDataset
    from olmo_train.data.loader import SETTINGS_FILE, DataLoader

    folder = next((f for f in (Path(config.run) / "data", Path(config.run)) if (f / SETTINGS_FILE).is_file()), None)
    if folder is None:
        raise ConfigError(f"no {SETTINGS_FILE} in {config.run} or its data/: is it a training run's directory?")
    settings_file = folder / SETTINGS_FILE
    settings = json.loads(settings_file.read_text())
    dataset = FSLDataset(settings["paths"], seq_len=settings["seq_len"], max_doc_pieces=settings["max_doc_pieces"])
    if settings["fingerprint"] not in (dataset.fingerprint(), dataset.legacy_fingerprint()):
        raise ConfigError(f"the token arrays under {settings['paths']} changed since the run {config.run} started")
    loader = DataLoader(dataset, work_dir=folder, global_batch_size=settings["global_batch_size"],
                        seed=settings["seed"], save_settings=False)
    epoch, batch = divmod(config.step - 1, loader.batches_per_epoch)
    rows = []
    print(f"step {config.step} (epoch {epoch + 1}, batch {batch + 1} of {loader.batches_per_epoch}): "
          f"{loader.instances_per_batch} instances of {dataset.seq_len} tokens")
    for position, index in enumerate(loader.global_batch(epoch + 1, batch).tolist()):
        pieces = dataset.provenance(index)
        rows.append({"position": position, "index": index,
                     "documents": [{"part": p.part, "id": p.document_id, "source": p.source, "tokens": p.end - p.start}
                                   for p in pieces]})
        listed = ", ".join(f"{p.document_id} ({p.source or '?'}, {p.end - p.start} tokens)" for p in pieces)
        print(f"  [{position}] instance {index}: {listed}")
    return rows
