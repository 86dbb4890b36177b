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


def _parse_json(path: str, text: str, line: int = 0) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {line or exc.lineno}" + ("" if line else f" column {exc.colno}")
        raise ConfigError(f"{path} {where}: not JSON ({exc.msg})") from None


def _read_records(path: str) -> list[tuple[str, Record]]:
    """``(where, record)`` per record of the file, ``where`` being ``line N`` (JSON lines) or ``record N``."""
    from olmo_core.io import open_file

    try:
        with open_file(path, "rt", encoding="utf-8", compression="infer") as f:
            text = f.read()
    except FileNotFoundError:
        raise ConfigError(f"no data file at {path}: give a built-in set or a JSON lines file") from None
    if path.endswith(".json"):
        array = _parse_json(path, text)
        if not isinstance(array, list):
            raise ConfigError(f"{path} must hold a JSON array of records (or use JSON lines)")
        located = [(f"record {i + 1}", record) for i, record in enumerate(array)]
    else:
        located = [(f"line {n}", _parse_json(path, line, n)) for n, line in enumerate(text.splitlines(), start=1)
                   if line.strip()]
    for where, record in located:
        if not isinstance(record, dict):
            raise ConfigError(f"{path} {where}: a record must be a JSON object, not {_json_type(record)}")
    return located


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _check_message_list(value: Any, where: str, key: str) -> None:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: '{key}' must be a list of messages, not {_json_type(value)}")
    for j, message in enumerate(value):
        if not isinstance(message, dict):
            raise ConfigError(f"{where}: message {j + 1} of '{key}' must be an object with 'role' and 'content', "
                              f"not {_json_type(message)}")


def _builtin(member: str) -> list[Record]:
    from olmo_core.assets import read_member

    return json.loads(read_member(LLAMAFACTORY, f"data/{member}.json"))  # type: ignore[no-any-return]


def load_conversations(spec: str) -> list[Record]:
    """``[{"id", "messages"}]`` from the built-in ``alpaca_en_demo`` or a messages file."""
    if spec == BUILTIN_SFT:
        return [{"id": f"{BUILTIN_SFT}-{i}", "messages": [
            {"role": "user", "content": "\n".join(p for p in (r["instruction"], r.get("input")) if p)},
            {"role": "assistant", "content": r["output"]}]} for i, r in enumerate(_builtin(BUILTIN_SFT))]
    located = _read_records(spec)
    for where, record in located:
        if "messages" not in record:
            raise ConfigError(f"{spec} {where} has no 'messages' list")
        _check_message_list(record["messages"], f"{spec} {where}", "messages")
    return [{"id": str(r.get("id", f"{spec}-{i}")), "messages": r["messages"]} for i, (_, r) in enumerate(located)]


def _as_messages(value: Any, role: str) -> list[Record]:
    return [{"role": role, "content": value}] if isinstance(value, str) else list(value)


def _split_full(record: Record) -> tuple[list[Record], list[Record], list[Record]] | None:
    chosen, rejected = list(record["chosen"]), list(record["rejected"])
    if not chosen or not rejected or chosen[:-1] != rejected[:-1]:
        return None
    return chosen[:-1], chosen[-1:], rejected[-1:]


def _check_pair(record: Record, where: str) -> None:
    if "chosen" not in record or "rejected" not in record:
        raise ConfigError(f"{where} needs 'chosen' and 'rejected'")
    if "prompt" not in record:
        if any(isinstance(record[key], str) for key in ("chosen", "rejected")):
            raise ConfigError(f"{where}: text 'chosen' and 'rejected' need a 'prompt' (the user turn they answer), "
                              f"or give both as full conversations")
        for key in ("chosen", "rejected"):
            _check_message_list(record[key], where, key)
        return
    for key in ("prompt", "chosen", "rejected"):
        if not isinstance(record[key], str):
            _check_message_list(record[key], where, key)


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
    for i, (where, record) in enumerate(_read_records(spec)):
        _check_pair(record, f"{spec} {where}")
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
