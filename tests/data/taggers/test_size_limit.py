"""Taggers whose rules need a whole document at once quarantine documents over their ``max_document_bytes``."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from olmo_core.documents import Document

from olmo_data.taggers.base import too_long
from olmo_data.taggers.gopher import GopherRepetitionConfig
from olmo_data.taggers.language import LanguageConfig
from tests.conftest import stdlib_documents


def test_the_limit_counts_utf8_bytes_and_names_the_tagger() -> None:
    assert LanguageConfig().max_document_bytes == GopherRepetitionConfig().max_document_bytes == 8_000_000
    taggers = {"pii": SimpleNamespace(), "language": SimpleNamespace(config=LanguageConfig(max_document_bytes=1000))}
    assert too_long(Document(id="a", text="é" * 500), taggers) is None  # 1,000 bytes
    assert too_long(Document(id="b", text="é" * 501), taggers) == \
        "too long for tagger 'language' (1,002 bytes > max_document_bytes=1,000)"
    taggers["language"].config.max_document_bytes = None
    assert too_long(Document(id="b", text="é" * 501), taggers) is None


def test_tag_quarantines_a_document_over_the_limit_and_keeps_files_aligned(tmp_path: Path, olmo_cli: Any) -> None:
    records = stdlib_documents()
    long = {"id": "long", "source": "python-docs", "text": "\n\n".join(str(r["text"]) for r in records)}
    target = tmp_path / "ds" / "documents" / "docs.jsonl.gz"
    target.parent.mkdir(parents=True)
    with gzip.open(target, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in [*records[:3], long, *records[3:]])
    size = len(long["text"].encode())
    result = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[gopher_repetition,language]",
                      "taggers.language.max_document_bytes=5000")
    assert result.exit_code == 0, result.err
    report = json.loads((tmp_path / "ds" / "reports" / "tag.json").read_text())
    assert report["documents"] == len(records) and report["quarantined"] == 1
    assert report["quarantine_reasons"] == {"too long for tagger 'language'": 1}
    (quarantined,) = map(json.loads, (tmp_path / "ds" / "quarantine" / "docs.jsonl").read_text().splitlines())
    assert quarantined["reason"] == f"too long for tagger 'language' ({size:,} bytes > max_document_bytes=5,000)"
    assert json.loads(base64.b64decode(quarantined["raw_base64"])) == long
    for name in ("gopher_repetition", "language"):
        with gzip.open(tmp_path / "ds" / "attributes" / name / "docs.jsonl.gz", "rt") as f:
            rows = [json.loads(line) for line in f]
        assert [r["id"] for r in rows] == [r["id"] for r in [*records[:3], long, *records[3:]]]
        assert rows[3]["attributes"] == {} and all(r["attributes"] for i, r in enumerate(rows) if i != 3)
