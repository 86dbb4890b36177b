"""Work is reused on a rerun only when the content of its inputs and its config are those it was made from."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

from olmo_core.token_arrays import open_token_array

from tests.conftest import stdlib_documents


def replace_documents(file: Path, records: list[dict[str, Any]]) -> None:
    """Write ``records`` into ``file`` in place of its documents, keeping its modification time."""
    stat = file.stat()
    with gzip.open(file, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def said(result: Any) -> str:
    """What a command said, on stdout or in its log (stderr)."""
    return result.out + result.err


def renamed(prefix: str) -> list[dict[str, Any]]:
    return [{**r, "id": f"{prefix}-{r['id']}", "text": r["text"].upper()} for r in stdlib_documents()[:5]]


def test_tokenize_redoes_a_part_whose_input_was_replaced(dataset: Path, tmp_path: Path, olmo_cli: Any) -> None:
    out = tmp_path / "tokens"
    args = ("data", "tokenize", f"input={dataset}", f"output={out}")
    assert olmo_cli(*args).exit_code == 0
    assert "1 part already complete" in said(olmo_cli(*args))
    replace_documents(dataset / "documents" / "docs.jsonl.gz", renamed("new"))
    again = olmo_cli(*args)
    assert again.exit_code == 0 and "already complete" not in said(again)
    assert open_token_array(out / "part-00000.npy").ids == [r["id"] for r in renamed("new")]
    other = olmo_cli(*args, "tokenizer=dolma2")  # another config: redone too
    assert "already complete" not in said(other)
    assert open_token_array(out / "part-00000.npy").meta["tokenizer"]["name"] == "dolma2"


def attribute_ids(dataset: Path, name: str) -> list[str]:
    with gzip.open(dataset / "attributes" / name / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
        return [json.loads(line)["id"] for line in f]


def test_a_pipeline_stage_reads_again_a_path_input_whose_content_changed(dataset: Path, tmp_path: Path,
                                                                         olmo_cli: Any) -> None:
    args = ("pipeline", "name=p", f"runs_dir={tmp_path / 'runs'}", "stages=[tag]",
            "stages.tag.taggers=[gopher_quality]", f"inputs.tag.input={dataset}")
    assert olmo_cli(*args).exit_code == 0
    assert "0 stages ran, 1 reused" in said(olmo_cli(*args))
    replace_documents(dataset / "documents" / "docs.jsonl.gz", renamed("new"))
    again = olmo_cli(*args)
    assert again.exit_code == 0 and "1 stages ran, 0 reused" in said(again)
    assert attribute_ids(dataset, "gopher_quality") == [r["id"] for r in renamed("new")]


def test_dedup_decide_computes_again_the_features_of_a_changed_file(dataset: Path, olmo_cli: Any) -> None:
    def dedup(*overrides: str) -> Any:
        result = olmo_cli("data", "dedup", f"input={dataset}", "dedupers=[exact]", *overrides)
        assert result.exit_code == 0, result.err
        return result

    dedup("shard=0/1")
    copy = renamed("copy")
    replace_documents(dataset / "documents" / "docs.jsonl.gz", renamed("new") + copy)
    decided = dedup("phase=decide")
    assert "exact: marked 5 of 10 documents" in said(decided)
    assert attribute_ids(dataset, "exact") == [r["id"] for r in renamed("new") + copy]
