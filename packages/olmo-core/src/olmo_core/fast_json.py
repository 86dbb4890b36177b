"""JSON parsing for bulk data (documents, attribute rows): ``msgspec`` where it accepts the text, else Python's
``json``, so that every line parses to exactly what ``json.loads`` gives.

``msgspec`` (the JSON library of dolma's Python side) parses a JSON line of a web document two to three times
faster than ``json``, to the same objects (integers of any size included). It refuses a few things ``json``
accepts (``NaN`` and ``Infinity``, escaped lone surrogates such as ``"\\ud800"``, numbers beyond a double's
range): those lines, rare in real data, are parsed again by ``json``, which also gives the error of a line
that is not JSON at all.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

__all__ = ["parse_json_line"]

_decode = msgspec.json.Decoder().decode
_REFUSED = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


def parse_json_line(line: bytes | str) -> Any:
    """``json.loads`` of one line (a string, or UTF-8 bytes decoded first) without its line break. Raises what
    that raises: :class:`UnicodeDecodeError` for bytes that are not UTF-8, :class:`json.JSONDecodeError` for a
    line that is not JSON."""
    try:
        return _decode(line)
    except _REFUSED:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        return json.loads(text.rstrip("\r\n"))
