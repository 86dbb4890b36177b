"""Where SFT conversations and DPO preference pairs come from: the built-in sets or the user's files.

Built-in (real data from LLaMA-Factory's pinned sdist, :data:`olmo_core.archives.LLAMAFACTORY`):

- ``alpaca_en_demo``: 999 Alpaca-style instructions, each turned into ``[user, assistant]`` where the user turn
  is the instruction followed by its input on a new line (LLaMA-Factory's own conversion);
- ``dpo_en_demo``: 300 ShareGPT-style pairs (``human``/``gpt``/``system`` turns, then a chosen and a rejected
  ``gpt`` answer), turned into a prompt and two assistant answers.

The user's files (any fsspec path; ``.jsonl``, ``.jsonl.gz``, ``.jsonl.zst``, or a ``.json`` array):

- conversations: one ``{"messages": [{"role", "content"}, ...]}`` per line (optional ``id``);
- pairs: ``{"chosen": [messages], "rejected": [messages]}`` that share all but their last (assistant) message,
  as in UltraFeedback, or ``{"prompt": [messages] | str, "chosen": [messages] | str, "rejected": ...}``
  (TRL's format; a string prompt is a user turn, a string answer an assistant turn).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from olmo_core.archives import LLAMAFACTORY
from olmo_core.errors import ConfigError

__all__ = ["BUILTIN_PAIRS", "BUILTIN_SFT", "held_out_split", "load_conversations", "load_pairs"]

BUILTIN_SFT = "alpaca_en_demo"
BUILTIN_PAIRS = "dpo_en_demo"
_SHAREGPT_ROLES = {"human": "user", "gpt": "assistant", "system": "system"}
Record = dict[str, Any]


def _read_records(path: str) -> list[Record]:
    from olmo_core.io import open_file

    try:
        with open_file(path, "rt", encoding="utf-8", compression="infer") as f:
            text = f.read()
    except FileNotFoundError:
        raise ConfigError(f"no data file at {path}: give a built-in set or a JSON lines file") from None
    if path.endswith(".json"):
        records = json.loads(text)
        if not isinstance(records, list):
            raise ConfigError(f"{path} must hold a JSON array of records (or use JSON lines)")
        return records
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path} line {number}: not JSON ({exc.msg})") from None
    return records


def _builtin(member: str) -> list[Record]:
    from olmo_core.assets import read_member

    return json.loads(read_member(LLAMAFACTORY, f"data/{member}.json"))  # type: ignore[no-any-return]


def load_conversations(spec: str) -> list[Record]:
    """``[{"id", "messages"}]`` from the built-in ``alpaca_en_demo`` or a messages file."""
    if spec == BUILTIN_SFT:
        return [{"id": f"{BUILTIN_SFT}-{i}", "messages": [
            {"role": "user", "content": "\n".join(p for p in (r["instruction"], r.get("input")) if p)},
            {"role": "assistant", "content": r["output"]}]} for i, r in enumerate(_builtin(BUILTIN_SFT))]
    records = _read_records(spec)
    for i, record in enumerate(records):
        if not isinstance(record.get("messages"), list):
            raise ConfigError(f"{spec} record {i + 1} has no 'messages' list")
    return [{"id": str(r.get("id", f"{spec}-{i}")), "messages": r["messages"]} for i, r in enumerate(records)]


def _as_messages(value: Any, role: str) -> list[Record]:
    return [{"role": role, "content": value}] if isinstance(value, str) else list(value)


def _split_full(record: Record) -> tuple[list[Record], list[Record], list[Record]] | None:
    chosen, rejected = list(record["chosen"]), list(record["rejected"])
    if not chosen or not rejected or chosen[:-1] != rejected[:-1]:
        return None
    return chosen[:-1], chosen[-1:], rejected[-1:]


def load_pairs(spec: str) -> list[Record]:
    """``[{"id", "prompt", "chosen", "rejected"}]`` (each a message list) from ``dpo_en_demo`` or a file.

    A pair whose chosen and rejected conversations differ before their last message gets ``prompt=None``
    (it is skipped, with its reason, when the pairs are tokenized).
    """
    if spec == BUILTIN_PAIRS:
        def turn(m: Record) -> Record:
            return {"role": _SHAREGPT_ROLES.get(m["from"], m["from"]), "content": m["value"]}

        return [{"id": f"{BUILTIN_PAIRS}-{i}", "prompt": [turn(m) for m in r["conversations"]],
                 "chosen": [turn(r["chosen"])], "rejected": [turn(r["rejected"])]}
                for i, r in enumerate(_builtin(BUILTIN_PAIRS))]
    pairs = []
    for i, record in enumerate(_read_records(spec)):
        if "chosen" not in record or "rejected" not in record:
            raise ConfigError(f"{spec} record {i + 1} needs 'chosen' and 'rejected'")
        if "prompt" in record:
            parts: Any = (_as_messages(record["prompt"], "user"), _as_messages(record["chosen"], "assistant"),
                          _as_messages(record["rejected"], "assistant"))
        else:
            parts = _split_full(record) or (None, list(record["chosen"]), list(record["rejected"]))
        pairs.append({"id": str(record.get("id", f"{spec}-{i}")), "prompt": parts[0], "chosen": parts[1],
                      "rejected": parts[2]})
    return pairs


def held_out_split(records: Sequence[Record], count: int) -> tuple[list[Record], list[Record]]:
    """``(train, held_out)``: the ``count`` records whose ids hash lowest are held out (the same ones whatever
    the file order), the rest keep their order."""
    if count <= 0:
        return list(records), []
    if count >= len(records):
        raise ConfigError(f"cannot hold out {count} of {len(records)} examples: lower eval_examples")
    rank = sorted(range(len(records)), key=lambda i: hashlib.sha256(str(records[i]["id"]).encode()).hexdigest())
    held = set(rank[:count])
    return ([r for i, r in enumerate(records) if i not in held], [r for i, r in enumerate(records) if i in held])
