"""Fixed-length instances over token-array parts, with OLMo's ``MemMapDataset`` semantics.

Every part is cut into ``len(part) // seq_len`` consecutive instances and its tail dropped; instances are
numbered through the parts in order. Documents are joined by their EOS tokens and run across instance
boundaries, so an instance holds pieces of one or more documents.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from olmo_core.errors import ConfigError
from olmo_core.token_arrays import TokenArray, open_token_array, part_urls

__all__ = ["FSLDataset", "Piece"]


@dataclass(frozen=True)
class Piece:
    """The part of one document inside an instance: tokens ``[start, end)`` of the instance."""

    part: str
    document_id: str
    source: str
    start: int
    end: int


class FSLDataset:
    """Instances of ``seq_len`` tokens over the parts of one or more token-array directories."""

    def __init__(self, paths: Sequence[str | Path], *, seq_len: int, max_doc_pieces: int | None = None) -> None:
        if seq_len < 1:
            raise ConfigError(f"seq_len must be positive, not {seq_len}")
        if not paths:
            raise ConfigError("data=[] names no token arrays: give data=[<token arrays dir>, ...]")
        self.paths = [str(p) if "://" in str(p) else str(Path(p).resolve()) for p in paths]  # s3://, memory:// ...
        self.seq_len = seq_len
        self.max_doc_pieces = max_doc_pieces or seq_len
        self.parts: list[TokenArray] = []
        self._directories: list[int] = []  # the number of each part's directory in ``paths``
        for number, directory in enumerate(self.paths):
            names = part_urls(directory)
            if not names:
                raise ConfigError(f"no token-array parts in {directory}: run `olmo data tokenize` first")
            self.parts.extend(open_token_array(name) for name in names)
            self._directories.extend([number] * len(names))
        eos = {part.meta.get("eos_token_id") for part in self.parts}
        if len(eos) != 1 or None in eos:
            raise ConfigError(f"the parts under {self.paths} disagree on (or lack) their EOS id: "
                              f"{sorted(map(str, eos))}")
        self.eos_token_id = int(eos.pop())
        counts = [len(part) // seq_len for part in self.parts]
        self._offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def locate(self, index: int) -> tuple[int, int]:
        """(part number, first token in that part) of instance ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"instance {index} is outside the dataset ({len(self)} instances)")
        part = int(np.searchsorted(self._offsets, index, side="right")) - 1
        return part, (index - int(self._offsets[part])) * self.seq_len

    def tokens(self, index: int) -> np.ndarray[Any, Any]:
        """The token ids of instance ``index`` (a view into the memmap)."""
        part, start = self.locate(index)
        return self.parts[part].tokens[start:start + self.seq_len]

    def __getitem__(self, index: int) -> dict[str, Any]:
        """``{"index", "input_ids"}`` (int64) of instance ``index``, with ``doc_lens`` too (see
        :meth:`doc_lens`)."""
        ids = torch.from_numpy(self.tokens(index).astype(np.int64))
        return {"index": index, "input_ids": ids, "doc_lens": self.doc_lens(ids)}

    def doc_lens(self, input_ids: torch.Tensor) -> torch.Tensor:
        """OLMo's document lengths: the instance split after each EOS token, as int32 lengths that sum to
        ``seq_len``, zero-padded to ``max_doc_pieces`` entries."""
        ends = (input_ids == self.eos_token_id).nonzero().flatten() + 1
        bounds = torch.cat([torch.zeros(1, dtype=torch.long), ends, torch.tensor([input_ids.numel()])]).unique()
        lens = bounds.diff().to(torch.int32)
        if lens.numel() > self.max_doc_pieces:
            raise ConfigError(f"an instance holds {lens.numel()} document pieces, more than max_doc_pieces="
                              f"{self.max_doc_pieces}: raise it")
        return torch.nn.functional.pad(lens, (0, self.max_doc_pieces - lens.numel()))

    def provenance(self, index: int) -> list[Piece]:
        """Every document piece of instance ``index``, in order, from the parts' document sidecars."""
        number, start = self.locate(index)
        part = self.parts[number]
        if not part.ids:
            raise ConfigError(f"{part.path} has no document list (.csv.gz): provenance is unknown")
        first, last = part.document_at(start), part.document_at(start + self.seq_len - 1)
        pieces = []
        for doc in range(first, last + 1):
            lo = max(int(part.starts[doc]), start) - start
            hi = min(int(part.ends[doc]), start + self.seq_len) - start
            pieces.append(Piece(part.path.name, part.ids[doc], part.sources[doc], lo, hi))
        return pieces

    def describe(self) -> dict[str, Any]:
        """What fixes the instances, and nothing of where the parts live: seq_len, EOS, and each part's
        directory (its position in the list of directories), name, dtype, size and digest."""
        parts = [[number, p.path.name, str(p.tokens.dtype), len(p), p.meta.get("sha256")]
                 for number, p in zip(self._directories, self.parts)]
        return {"seq_len": self.seq_len, "eos": self.eos_token_id, "parts": parts}

    def fingerprint(self) -> str:
        """sha256 of :meth:`describe`: the same for a copied, moved or renamed token directory."""
        return hashlib.sha256(json.dumps(self.describe(), sort_keys=True).encode()).hexdigest()

    def legacy_fingerprint(self) -> str:
        """The fingerprint of checkpoints saved before :meth:`fingerprint` left out the directories' names
        (each part's directory name, name, dtype, size and digest): they still resume from the same folders."""
        parts = [[str(p.path.parent.name), p.path.name, str(p.tokens.dtype), len(p), p.meta.get("sha256")]
                 for p in self.parts]
        text = json.dumps({"seq_len": self.seq_len, "eos": self.eos_token_id, "parts": parts}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()

    def differences(self, saved: dict[str, Any], *, limit: int = 3) -> list[str]:
        """``what old -> new`` for each difference between the description ``saved`` (see :meth:`describe`)
        and this dataset's, at most ``limit`` of the parts named."""
        new = self.describe()
        changed = [f"{key} {saved.get(key)} -> {new[key]}" for key in ("seq_len", "eos") if saved.get(key) != new[key]]
        old_parts, new_parts = saved.get("parts") or [], new["parts"]
        if len(old_parts) != len(new_parts):
            changed.append(f"parts {len(old_parts)} -> {len(new_parts)}")
        named = [_part_difference(number, old, now) for number, (old, now) in enumerate(zip(old_parts, new_parts))
                 if list(old) != list(now)]
        changed.extend(named[:limit])
        if len(named) > limit:
            changed.append(f"and {len(named) - limit} more parts")
        return changed


def _part_difference(number: int, old: Sequence[Any], new: Sequence[Any]) -> str:
    """One part's ``old -> new`` (directory number, name, dtype, tokens, sha256: its first 12 digits)."""
    labels = ("directory", "name", "dtype", "tokens", "sha256")
    short = [[str(v)[:12] if label == "sha256" and v else v for label, v in zip(labels, row)] for row in (old, new)]
    fields = [f"{label} {a} -> {b}" for label, a, b in zip(labels, *short) if a != b]
    return f"part {number + 1}: {', '.join(fields)}"
