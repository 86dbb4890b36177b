"""Reference log-probabilities: computed once with the frozen reference model, cached on disk.

The cache file is named by a sha256 of the reference's weights and config (from its checkpoint manifest) and
of every tokenized pair (ids and labels, which fix the data, the tokenizer, the template and the truncation),
so a different reference or different data never reads a stale cache. The file is an entry of the verified cache
(:mod:`olmo_core.cache`): its sha256 is recorded when it is written and checked when it is read, so a corrupted
or edited file is named on stderr and computed again. The reference runs in fp32 in eval mode.
"""

from __future__ import annotations

import hashlib
import json
from array import array
from collections.abc import Sequence
from pathlib import Path

import torch
from olmo_core.progress import Progress

from olmo_adapt.dpo.data import Pair, collate_pairs
from olmo_adapt.logprobs import sequence_logps

__all__ = ["cache_key", "cached_reference_logps", "reference_logps"]

_VERSION = b"olmo-adapt dpo reference v1"


def cache_key(reference: Path, pairs: Sequence[Pair]) -> str:
    """The cache name of ``pairs`` scored by the checkpoint at ``reference``."""
    manifest = json.loads((reference / "manifest.json").read_text())
    digest = hashlib.sha256(_VERSION)
    for name in ("model.safetensors", "model_config.json"):
        digest.update(manifest["files"][name]["sha256"].encode())
    for pair in pairs:
        for tokens in (pair.chosen, pair.rejected):
            digest.update(array("q", [len(tokens.ids), *tokens.ids, *tokens.labels]).tobytes())
    return digest.hexdigest()


@torch.no_grad()
def reference_logps(model: torch.nn.Module, pairs: Sequence[Pair], *, rows: int, pad_id: int,
                    device: torch.device) -> torch.Tensor:
    """``(pairs, 2)`` summed log-probabilities of the chosen and rejected answers by pair index (``pairs`` must
    be numbered ``0 .. len - 1``), in fp32 (float64 for a float64 model)."""
    model.eval()
    table = torch.zeros((len(pairs), 2), dtype=torch.promote_types(next(model.parameters()).dtype, torch.float32))
    with Progress("reference log-probabilities", total=len(pairs), unit="pairs") as bar:
        for start in range(0, len(pairs), rows):
            batch = collate_pairs(pairs[start:start + rows], pad_id=pad_id)
            ids = torch.cat((batch["chosen_ids"], batch["rejected_ids"])).to(device)
            labels = torch.cat((batch["chosen_labels"], batch["rejected_labels"])).to(device)
            logps, _ = sequence_logps(model, ids, labels)
            table[batch["index"]] = torch.stack(logps.cpu().chunk(2), dim=-1)
            bar.advance(len(batch["index"]))
    return table


def cached_reference_logps(reference: Path, pairs: Sequence[Pair], *, cache_dir: Path, rows: int, pad_id: int,
                           device: torch.device, write: bool = True) -> tuple[torch.Tensor, Path, bool]:
    """``(table, cache file, whether it was read from the cache)``; computes and writes it when missing or when
    the file does not match the sha256 recorded when it was written (only a process that ``write``s discards a
    corrupted file)."""
    from safetensors.torch import load_file, save_file

    from olmo_core import cache
    from olmo_core.model_io import load_model

    key = cache_key(reference, pairs)
    path = cache_dir / f"{key}.safetensors"
    if cache.lookup(path, key=key, discard=write) is not None:
        table = load_file(str(path))["logps"]
        if table.shape == (len(pairs), 2):
            return table, path, True
    model = load_model(reference, device=str(device)).model.float()
    table = reference_logps(model, pairs, rows=rows, pad_id=pad_id, device=device)
    if write:
        metadata = {"reference": str(reference), "pairs": str(len(pairs))}
        cache.store(path, lambda partial: save_file({"logps": table}, str(partial), metadata=metadata), key=key)
    return table, path, False
