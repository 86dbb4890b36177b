"""parse_json_line gives exactly what json.loads gives: by msgspec where it can, by json where msgspec refuses."""

from __future__ import annotations

import json
import math
import random
import struct

import msgspec
import pytest
from olmo_core.fast_json import parse_json_line

from tests.conftest import stdlib_documents

REFUSED_BY_MSGSPEC = [
    '{"score": NaN}',                      # json's extension: NaN and Infinity
    '{"score": -Infinity}',
    '{"text": "\\ud800 alone"}',           # an escaped lone surrogate
    '{"\\udc00": 1}',
    '{"big": 1e400}',                      # beyond a double: json gives inf
]


@pytest.mark.parametrize("text", REFUSED_BY_MSGSPEC)
def test_what_msgspec_refuses_is_parsed_by_json(text: str) -> None:
    with pytest.raises((msgspec.DecodeError, msgspec.ValidationError)):
        msgspec.json.decode(text)
    expected = json.loads(text)
    for given in (text, text.encode("utf-8"), text + "\n"):
        assert repr(parse_json_line(given)) == repr(expected)  # repr: NaN != NaN


def test_nan_survives() -> None:
    assert math.isnan(parse_json_line(b'{"score": NaN}\n')["score"])


@pytest.mark.parametrize("text", [
    '{"id": "a", "id": "b", "text": "last value wins, in the first key\'s place"}',
    '{"text": "caf\\u00e9 \\ud83d\\ude00 \\n tab\\t", "x": [1, -0, -0.0, 0.1, 1e-7, 2.5e300, 1e-400]}',
    '{"id": 123456789012345678901234567890, "neg": -9223372036854775809}',  # integers of any size stay integers
    '{"text": "naïve — “quoted” 中文 😀"}\r\n',
    '  [true, false, null, {}, []]  ',
])
def test_same_objects_as_json(text: str) -> None:
    expected = json.loads(text)
    for given in (text, text.encode("utf-8")):
        parsed = parse_json_line(given)
        assert parsed == expected
        assert json.dumps(parsed) == json.dumps(expected)  # same key order, types and float values


def test_every_double_parses_to_the_same_float() -> None:
    rng = random.Random(0)
    doubles = [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(20_000)]
    finite = [x for x in doubles if math.isfinite(x)]
    texts = [repr(x) for x in finite] + [f"{x:.17e}" for x in finite] + [f"{x:.12g}" for x in finite]
    texts += ["2.2250738585072011e-308", "9007199254740993", "1.00000000000000011102230246251565404236316680908203125",
              "4.9406564584124654e-324", "1.7976931348623157e308"]
    line = "[" + ",".join(texts) + "]"
    assert [x.hex() if isinstance(x, float) else x for x in parse_json_line(line)] == \
        [x.hex() if isinstance(x, float) else x for x in json.loads(line)]


def test_real_documents_parse_as_json_parses_them() -> None:
    for record in stdlib_documents():
        line = json.dumps(record, ensure_ascii=False).encode("utf-8")
        assert parse_json_line(line) == json.loads(line.decode("utf-8"))


def test_errors_are_those_of_json() -> None:
    with pytest.raises(json.JSONDecodeError, match="Expecting value"):
        parse_json_line('{"id": }')
    with pytest.raises(json.JSONDecodeError, match="BOM"):
        parse_json_line('\ufeff{"id": 1}')
    with pytest.raises(json.JSONDecodeError, match="Unterminated string"):  # the line break is not in the string
        parse_json_line(b'{"text": "cut off\n')
    with pytest.raises(UnicodeDecodeError):
        parse_json_line(b'{"text": "\xff"}')
