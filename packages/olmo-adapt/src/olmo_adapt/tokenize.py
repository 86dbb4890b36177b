"""From an encoded conversation to training ids and next-token labels, within ``max_length``."""

from __future__ import annotations

from dataclasses import dataclass

from olmo_train.loss import IGNORE

from olmo_adapt.examples import NOTHING_TRAINED, TOO_LONG
from olmo_core.chat_template import EncodedConversation

__all__ = ["Tokens", "fit"]


@dataclass(kw_only=True, frozen=True)
class Tokens:
    """One sequence: ``labels[t]`` is the token position ``t`` must predict (``ids[t + 1]`` when that token is
    trained, else ``-100``)."""

    ids: list[int]
    labels: list[int]

    @property
    def trained(self) -> int:
        """Labelled positions."""
        return sum(label != IGNORE for label in self.labels)


def fit(encoded: EncodedConversation, *, max_length: int, overlong: str) -> Tokens | str:
    """The sequence cut to ``max_length`` (``overlong="truncate"``, keeping the start) or the reason it is
    skipped: too long (``overlong="skip"``) or nothing left to train."""
    ids, trained = encoded.ids, encoded.trained
    if len(ids) > max_length:
        if overlong == "skip":
            return TOO_LONG
        ids, trained = ids[:max_length], trained[:max_length]
    labels = [ids[t + 1] if trained[t + 1] else IGNORE for t in range(len(ids) - 1)] + [IGNORE]
    tokens = Tokens(ids=ids, labels=labels)
    return tokens if tokens.trained else NOTHING_TRAINED
