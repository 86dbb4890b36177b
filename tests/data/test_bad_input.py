"""Bad input is counted, never lost: documents in = kept + dropped + quarantined, with file, line, reason."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import zstandard

from olmo_core.documents import read_documents

from tests.conftest import stdlib_documents


def test_every_kind_of_bad_input_is_accounted_for(tmp_path: Path, example_plugin: ModuleType, register_plugin: Any,
                                                 olmo_cli: Any) -> None:
    register_plugin(example_plugin, "example_length")
    docs = tmp_path / "ds" / "documents"
    docs.mkdir(parents=True)
    good = [json.dumps(r).encode() for r in stdlib_documents()]
    (docs / "a-lines.jsonl").write_bytes(b"\n".join([
        good[0], b'{"id": "broken", "text": ', b'{"id": "no-text"}', b'{"id": "latin1", "text": "caf\xe9"}', good[1],
    ]) + b"\n")
    body = b"".join(line + b"\n" for line in good * 40)
    compressed = gzip.compress(body)
    (docs / "b-cut.jsonl.gz").write_bytes(compressed[: len(compressed) // 2])
    frame = zstandard.ZstdCompressor().compress(body)
    (docs / "c-cut.jsonl.zst").write_bytes(frame[: len(frame) // 2])
    (docs / "d-empty.jsonl.gz").write_bytes(gzip.compress(b""))
    huge_text = " ".join(["Call me Ishmael."] * 3_300_000)
    (docs / "e-huge.jsonl").write_text(json.dumps({"id": "huge", "text": huge_text, "source": "big"}) + "\n")
    assert (docs / "e-huge.jsonl").stat().st_size > 50_000_000

    tagged = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[example_length]")
    assert tagged.exit_code == 0, tagged.err
    out = tmp_path / "out"
    filtered = olmo_cli("data", "filter", f"input={tmp_path / 'ds'}", f"output={out}",
                        "exclude=['example_length__example_length__word_count > 1000000']")
    assert filtered.exit_code == 0, filtered.err
    report = json.loads((out / "reports" / "filter.json").read_text())
    assert report["records"] == report["kept"] + report["dropped"] + report["quarantined"]
    assert report["dropped_by"] == {"example_length__example_length__word_count > 1000000": 1}
    assert report["quarantined"] == 5

    quarantined = {}
    for path in sorted((out / "quarantine").glob("*.jsonl")):
        quarantined[path.name] = [(q["line"], q["reason"].split(":")[0].split(" (")[0])
                                  for q in map(json.loads, path.read_text().splitlines())]
    assert quarantined["a-lines.jsonl"] == [(2, "invalid JSON"), (3, "missing 'text'"), (4, "not UTF-8")]
    for name in ("b-cut.jsonl", "c-cut.jsonl"):
        assert len(quarantined[name]) == 1 and quarantined[name][0][1].startswith("unreadable after line")
    kept = {path.name: [d.id for d in read_documents(str(path))] for path in sorted((out / "documents").glob("*"))}
    assert kept["a-lines.jsonl"] == ["stdlib-argparse", "stdlib-difflib"]
    assert kept["d-empty.jsonl.gz"] == [] and kept["e-huge.jsonl"] == []
    for name in ("b-cut.jsonl.gz", "c-cut.jsonl.zst"):
        cut_line = quarantined[name.rsplit(".", 1)[0]][0][0]
        assert len(kept[name]) == cut_line - 1  # every line decodable before the damage was kept
    assert len(kept["b-cut.jsonl.gz"]) > 0  # (half of this zstd frame completes no block: nothing decodes)


def read_lines(path: Path) -> list[str]:
    return (gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()).decode().splitlines()


def test_top_level_fields_beyond_dolma_s_come_through_every_step_unchanged(tmp_path: Path, olmo_cli: Any) -> None:
    """A record's own fields (``lang``, a nested object) are kept: a step writes them back as they came."""
    records = [{**r, "lang": "en", "extra": {"k": i}} for i, r in enumerate(stdlib_documents())]
    source = tmp_path / "in" / "documents" / "docs.jsonl"
    source.parent.mkdir(parents=True)
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert olmo_cli("data", "filter", f"input={tmp_path / 'in'}", f"output={tmp_path / 'kept'}").exit_code == 0
    assert olmo_cli("data", "mix", f"input={tmp_path / 'kept'}", f"output={tmp_path / 'mixed'}").exit_code == 0
    for step in ("kept", "mixed"):
        (written_file,) = (tmp_path / step / "documents").glob("docs.jsonl*")
        written = [json.loads(line) for line in read_lines(written_file)]
        assert sorted(written, key=lambda r: r["id"]) == sorted(records, key=lambda r: r["id"]), step
