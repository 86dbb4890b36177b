"""Installing packages on their own, in fresh virtual environments, as users and plugin authors do: the wheels
that a release would publish, with the lowest versions of their dependencies that the packages allow."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import zipfile
from collections.abc import Callable
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from olmo_core.token_arrays import open_token_array
from tests.conftest import ROOT, stdlib_documents, uv_executable

pytestmark = pytest.mark.slow

PACKAGES = ("olmo-core", "olmo-data", "olmo-train", "olmo-eval", "olmo-adapt")


def metadata(wheel: Path) -> Any:
    """The core metadata (``METADATA``) of ``wheel``."""
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(archive.read(name).decode())


def floors(*wheels: Path) -> list[str]:
    """The requirements of ``wheels`` outside any extra and outside olmo, given on the command line so that
    ``--resolution lowest-direct`` takes each at its lowest allowed version (uv treats the dependencies of a
    wheel file as transitive, and would take their highest)."""
    listed = [Requirement(r) for wheel in wheels for r in metadata(wheel).get_all("Requires-Dist", [])]
    return [str(r) for r in listed if r.marker is None and r.name not in PACKAGES]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The five packages' wheels, built as a release builds them (``uv build --wheel``)."""
    out = tmp_path_factory.mktemp("wheels")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
    subprocess.run([uv_executable(), "build", "--wheel", "--all-packages", "-q", "-o", str(out)],
                   check=True, env=env, cwd=ROOT)
    built = {w.name.split("-")[0].replace("_", "-"): w for w in out.glob("*.whl")}
    assert set(built) == set(PACKAGES)
    return built


def test_wheels_carry_license_typing_marker_and_sibling_ranges(wheels: dict[str, Path]) -> None:
    for name, wheel in wheels.items():
        module = name.replace("-", "_")
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
        assert f"{module}/py.typed" in names and f"{wheel.name.split('-py3')[0]}.dist-info/licenses/LICENSE" in names
        meta = metadata(wheel)
        assert meta["License-Expression"] == "Apache-2.0" and "Typing :: Typed" in meta.get_all("Classifier")
        assert meta.get_all("Project-URL") and "](../" not in meta.get_payload()
        siblings = [Requirement(r) for r in meta.get_all("Requires-Dist", []) if Requirement(r).name in PACKAGES]
        assert all(r.specifier == Requirement("x>=0.1,<0.2").specifier for r in siblings if r.name != name), siblings
    assert "hf" in metadata(wheels["olmo-core"]).get_all("Provides-Extra")
    assert "energy" in metadata(wheels["olmo-train"]).get_all("Provides-Extra")


def test_core_and_data_at_their_lowest_dependencies_tag_dedup_and_tokenize(
        wheels: dict[str, Path], fresh_venv: Callable[..., Path], tokenizer: Any, tmp_path: Path) -> None:
    core_data = (wheels["olmo-core"], wheels["olmo-data"])
    venv = fresh_venv("core-data", "--resolution", "lowest-direct", *map(str, core_data), *floors(*core_data),
                      "./tests/fixtures/olmo-filter-example")
    python, olmo = venv / "bin" / "python", venv / "bin" / "olmo"

    listed = subprocess.run([uv_executable(), "pip", "list", "--format", "json", "--python", str(python)],
                            capture_output=True, text=True, check=True)
    installed = {p["name"]: Version(p["version"]) for p in json.loads(listed.stdout)}
    for requirement in map(Requirement, floors(*core_data)):
        lowest = next(s.version for s in requirement.specifier if s.operator == ">=")
        assert installed[requirement.name] == Version(lowest), requirement
    assert not {"torch", "matplotlib", "transformers"} & set(installed)

    def olmo_run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([olmo, *args], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done

    info = json.loads(olmo_run("plugins", "--json").stdout)
    plugins = {p["name"]: p for p in info["plugins"]}
    assert set(plugins) == {"core", "data", "example_length"}
    assert (plugins["example_length"]["distribution"], plugins["example_length"]["version"]) == \
        ("olmo-filter-example", "0.3.1")
    assert plugins["example_length"]["hooks"] == ["olmo_register_jobs", "olmo_register_taggers"]
    taggers = {c["name"]: c["distribution"] for c in info["components"]["taggers"]}
    assert taggers["example_length"] == "olmo-filter-example 0.3.1"
    assert {"language", "pii", "badwords"} <= set(taggers)

    records = stdlib_documents()
    longest = max(records, key=lambda r: len(str(r["text"])))
    copies = [dict(records[0], id="copy"), dict(longest, id="near", text=f"{longest['text']}\nSee the reference.")]
    docs = tmp_path / "ds" / "documents" / "part-0.jsonl.gz"
    docs.parent.mkdir(parents=True)
    with gzip.open(docs, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records + copies)

    olmo_run("data", "tag", f"input={tmp_path / 'ds'}", "taggers=[example_length,language,pii]",
             "taggers.example_length.min_words=200")
    with gzip.open(tmp_path / "ds" / "attributes" / "example_length" / "part-0.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    keep = [row["attributes"]["example_length__example_length__keep"][0][2] for row in rows]
    assert keep == [int(len(str(r["text"]).split()) >= 200) for r in records + copies]
    assert 0 < sum(keep) < len(keep)
    with gzip.open(tmp_path / "ds" / "attributes" / "language" / "part-0.jsonl.gz", "rt") as f:
        top = [json.loads(line)["attributes"]["language__language__top"][0][2] for line in f]
    assert top == ["en"] * len(records + copies)

    olmo_run("data", "dedup", f"input={tmp_path / 'ds'}", f"output={tmp_path / 'unique'}", "dedupers=[exact,minhash]")
    with gzip.open(tmp_path / "ds" / "attributes" / "minhash" / "part-0.jsonl.gz", "rt") as f:
        near = {row["id"]: row["attributes"]["minhash__minhash__duplicate_of"] for row in map(json.loads, f)}
    assert near["near"][0][2] == longest["id"] and near["copy"] == [[0, len(str(records[0]["text"])), records[0]["id"]]]

    olmo_run("data", "tokenize", f"input={tmp_path / 'unique'}", f"output={tmp_path / 'tokens'}")
    part = open_token_array(tmp_path / "tokens" / "part-00000.npy")
    assert part.ids == [r["id"] for r in records]  # both copies dropped, the order kept
    assert part.tokens.tolist() == [t for r in records for t in tokenizer.encode(str(r["text"]), add_eos=True)]
    assert "(tokens per source not drawn: drawing figures needs olmo-core[plots]" in \
        (tmp_path / "tokens" / "report.md").read_text()
