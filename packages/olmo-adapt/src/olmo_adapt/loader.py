"""Batches of tokenized examples in a seeded order per epoch, resumable exactly.

The trainer of olmo-train reads any iterable of batch dicts with ``state_dict()``/``load_state_dict()``: one
pass of :class:`ExampleLoader` is one epoch; each epoch's order is a permutation drawn from ``(seed, epoch)``;
the state is the epoch and the number of batches of it already handed out, so a resumed run sees exactly the
batches an uninterrupted one would. The last ``len(examples) % batch_size`` examples of each epoch's order are
left out (another epoch's order includes them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import torch

from olmo_core.errors import ConfigError

__all__ = ["ExampleLoader"]

T = TypeVar("T")


class ExampleLoader(Generic[T]):
    """Global batches of ``batch_size`` examples; each rank collates its contiguous share."""

    def __init__(self, examples: Sequence[T], *, batch_size: int, seed: int,
                 collate: Callable[[list[T]], dict[str, Any]]) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, not {batch_size}")
        if len(examples) < batch_size:
            raise ConfigError(f"{len(examples)} examples are fewer than one batch of {batch_size}: "
                              f"lower method.batch_size")
        self.examples, self.batch_size, self.seed, self.collate = examples, batch_size, seed, collate
        self.epoch, self.position = 0, 0
        self.rank, self.world_size = 0, 1

    @property
    def steps_per_epoch(self) -> int:
        """Batches in one epoch."""
        return len(self.examples) // self.batch_size

    def shard(self, rank: int, world_size: int) -> None:
        """Collate only this rank's share of each global batch."""
        if self.batch_size % world_size:
            raise ConfigError(f"batch_size {self.batch_size} must be divisible by the world size {world_size}")
        self.rank, self.world_size = rank, world_size

    def order(self, epoch: int) -> list[int]:
        """The example order of ``epoch``."""
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(len(self.examples), generator=generator).tolist()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        if self.position >= self.steps_per_epoch:
            self.epoch, self.position = self.epoch + 1, 0
        order = self.order(self.epoch)
        share = self.batch_size // self.world_size
        while self.position < self.steps_per_epoch:
            start = self.position * self.batch_size + self.rank * share
            self.position += 1
            yield self.collate([self.examples[i] for i in order[start:start + share]])
        self.epoch, self.position = self.epoch + 1, 0

    def state_dict(self) -> dict[str, Any]:
        """Where the loader is: epoch, batches of it handed out, and what fixes the order."""
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed, "examples": len(self.examples),
                "batch_size": self.batch_size}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`; refuses a state made with other data or batch size."""
        current = self.state_dict()
        for key, name in (("seed", "seed"), ("examples", "training examples"), ("batch_size", "method.batch_size")):
            if state[key] != current[key]:
                said = f"{name}={state[key]}, not {current[key]}" if "." in name or name == "seed" else \
                    f"{state[key]} {name}, not {current[key]}"
                raise ConfigError(f"the run's checkpoint was made with {said}: resume with the same data and "
                                  f"settings, or start over with a new output=")
        self.epoch, self.position = state["epoch"], state["position"]
