from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from olmo_core.documents import read_documents
from olmo_data.mixing.mixers import copies


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from olmo_core.cli import invoke

    root = tmp_path_factory.mktemp("mix") / "ds"
    invoke(["data", "fetch", "sources=[wikipedia,c4]", "limits={wikipedia: 2000}", f"output={root}"])
    return root


def mixed(root: Path) -> list[Any]:
    return [d for f in sorted((root / "documents").rglob("*.jsonl.gz")) for d in read_documents(str(f))]


def test_factors_are_applied_per_document(two_sources: Path, tmp_path: Path, olmo_cli: Any) -> None:
    out = tmp_path / "out"
    result = olmo_cli("data", "mix", f"input={two_sources}", f"output={out}", "mixer.factors={c4: 2.5, wikipedia: 0.3}")
    assert result.exit_code == 0, result.err
    originals = mixed(two_sources)
    expected = [(d.id if k == 0 else f"{d.id}#{k}") for d in originals
                for k in range(copies(d.id, 2.5 if d.source == "c4" else 0.3, seed=0))]
    assert [d.id for d in mixed(out)] == expected
    report = json.loads((out / "reports" / "mix.json").read_text())
    assert report["sources"]["c4"]["documents_out"] == sum(1 for e in expected if e.startswith("c4-"))


def test_proportions_reach_their_shares(two_sources: Path, tmp_path: Path, olmo_cli: Any) -> None:
    out = tmp_path / "out"
    result = olmo_cli("data", "mix", f"input={two_sources}", f"output={out}", "mixer=proportions",
                      "mixer.proportions={c4: 0.5, wikipedia: 0.5}", "workers=2")
    assert result.exit_code == 0, result.err
    sizes = {"c4": 0, "wikipedia": 0}
    for document in mixed(out):
        sizes[document.source] += len(document.text.encode("utf-8"))
    assert sizes["c4"] / sum(sizes.values()) == pytest.approx(0.5, abs=0.03)
    again = tmp_path / "again"
    assert olmo_cli("data", "mix", f"input={two_sources}", f"output={again}", "mixer=proportions",
                    "mixer.proportions={c4: 0.5, wikipedia: 0.5}", "workers=1").exit_code == 0
    for path in sorted((out / "documents").rglob("*.jsonl.gz")):
        assert path.read_bytes() == (again / path.relative_to(out)).read_bytes()
