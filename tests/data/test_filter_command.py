from __future__ import annotations

import gzip
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from olmo_data.commands.filter import FilterConfig, filter_documents, replace_spans
from tests.conftest import stdlib_documents

MAIL = "Questions about the release go to the maintainers at python-dev@python.org or 555-867-5309, thanks."


@pytest.fixture
def tagged(tmp_path: Path, example_plugin: ModuleType, register_plugin: Any, olmo_cli: Any) -> Path:
    register_plugin(example_plugin, "example_length")
    docs = tmp_path / "ds" / "documents"
    docs.mkdir(parents=True)
    records = [*stdlib_documents(), {"id": "mail-1", "text": MAIL, "source": "mail"}]
    with gzip.open(docs / "part.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
        f.write("this line is not JSON\n")
    result = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[example_length,pii]")
    assert result.exit_code == 0, result.err
    return tmp_path / "ds"


def read(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_filter_drops_masks_and_accounts_for_every_record(tagged: Path, tmp_path: Path, olmo_cli: Any) -> None:
    out = tmp_path / "filtered"
    rule = "example_length__example_length__word_count < 150"
    result = olmo_cli("data", "filter", f"input={tagged}", f"output={out}", f"exclude=['{rule}']",
                      "replace=['pii__pii__EMAIL_ADDRESS => |||EMAIL_ADDRESS|||',"
                      "'pii__pii__PHONE_NUMBER => |||PHONE_NUMBER|||']",
                      "include=['count(pii__pii__EMAIL_ADDRESS) < 3']")
    assert result.exit_code == 0, result.err
    records = [*stdlib_documents(), {"id": "mail-1", "text": MAIL, "source": "mail"}]
    long_ids = [r["id"] for r in records if len(str(r["text"]).split()) >= 150]
    kept = read(out / "documents" / "part.jsonl.gz")
    dropped = read(out / "dropped" / "part.jsonl.gz")
    assert [d["id"] for d in kept] == long_ids
    assert {d["id"] for d in dropped} == {r["id"] for r in records} - set(long_ids)
    assert all(d["dropped_by"] == rule for d in dropped)
    report = json.loads((out / "reports" / "filter.json").read_text())
    assert (report["records"], report["kept"], report["dropped"], report["quarantined"]) == \
        (len(records) + 1, len(long_ids), len(records) - len(long_ids), 1)
    assert report["per_source"]["mail"] == {"read": 1, "dropped": 1}
    quarantined = json.loads((out / "quarantine" / "part.jsonl").read_text())
    assert (quarantined["line"], quarantined["reason"]) == (len(records) + 1, "invalid JSON (Expecting value)")


def test_masking_replaces_exactly_the_spans(tagged: Path, tmp_path: Path) -> None:
    report = filter_documents(FilterConfig(attributes=["pii"], replace=["pii__pii__EMAIL_ADDRESS => |||EMAIL_ADDRESS|||",
                                                                      "pii__pii__PHONE_NUMBER => |||PHONE_NUMBER|||"]),
                              str(tagged), str(tmp_path / "m"))
    mail = next(d for d in read(tmp_path / "m" / "documents" / "part.jsonl.gz") if d["id"] == "mail-1")
    assert mail["text"] == ("Questions about the release go to the maintainers at |||EMAIL_ADDRESS||| or "
                            "|||PHONE_NUMBER|||, thanks.")
    assert report["spans_replaced"] == {"pii__pii__EMAIL_ADDRESS": 1, "pii__pii__PHONE_NUMBER": 1}


def test_unknown_attribute_key_is_named(tagged: Path, tmp_path: Path, olmo_cli: Any) -> None:
    result = olmo_cli("data", "filter", f"input={tagged}", f"output={tmp_path / 'x'}",
                      "exclude=['example_length__example_length__word_cnt < 3']")
    assert result.exit_code == 2
    assert "names attribute 'example_length__example_length__word_cnt', which the attribute files do not have " \
           "(did you mean 'example_length__example_length__word_count'?)" in result.err


def test_replace_spans_handles_order_and_overlap() -> None:
    assert replace_spans("abcdefgh", [(4, 6, "X"), (0, 2, ""), (5, 7, "Y")]) == "cdXgh"
