"""Installing packages on their own, in fresh virtual environments, as users and plugin authors do."""

from __future__ import annotations

import gzip
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import stdlib_documents

pytestmark = pytest.mark.slow


def test_core_and_data_install_without_torch_and_run_a_third_party_filter(
        fresh_venv: Callable[..., Path], tmp_path: Path) -> None:
    venv = fresh_venv("core-data", "./packages/olmo-core", "./packages/olmo-data",
                      "./tests/fixtures/olmo-filter-example")
    python, olmo = venv / "bin" / "python", venv / "bin" / "olmo"
    missing = subprocess.run([python, "-c", "import importlib.util as u; print(u.find_spec('torch'))"],
                             capture_output=True, text=True, check=True)
    assert missing.stdout.strip() == "None"

    listed = subprocess.run([olmo, "plugins", "--json"], capture_output=True, text=True, check=True)
    info = json.loads(listed.stdout)
    plugins = {p["name"]: p for p in info["plugins"]}
    assert set(plugins) == {"core", "data", "example_length"}
    assert (plugins["example_length"]["distribution"], plugins["example_length"]["version"]) == \
        ("olmo-filter-example", "0.3.1")
    assert plugins["example_length"]["hooks"] == ["olmo_register_jobs", "olmo_register_taggers"]
    taggers = {c["name"]: c["distribution"] for c in info["components"]["taggers"]}
    assert taggers["example_length"] == "olmo-filter-example 0.3.1"
    assert {"language", "pii", "badwords"} <= set(taggers)

    docs = tmp_path / "ds" / "documents" / "part-0.jsonl.gz"
    docs.parent.mkdir(parents=True)
    records = stdlib_documents()
    with gzip.open(docs, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    tagged = subprocess.run([olmo, "data", "tag", f"input={tmp_path / 'ds'}", "taggers=[example_length,language,pii]",
                             "taggers.example_length.min_words=200"], capture_output=True, text=True)
    assert tagged.returncode == 0, tagged.stderr
    with gzip.open(tmp_path / "ds" / "attributes" / "example_length" / "part-0.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    keep = [row["attributes"]["example_length__example_length__keep"][0][2] for row in rows]
    assert keep == [int(len(str(r["text"]).split()) >= 200) for r in records]
    assert 0 < sum(keep) < len(keep)
    with gzip.open(tmp_path / "ds" / "attributes" / "language" / "part-0.jsonl.gz", "rt") as f:
        top = [json.loads(line)["attributes"]["language__language__top"][0][2] for line in f]
    assert top == ["en"] * len(records)
