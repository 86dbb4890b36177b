"""The five packages as a package index shows them: license, typing marker, metadata, extras, READMEs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.conftest import ROOT

PACKAGES = ("olmo-core", "olmo-data", "olmo-train", "olmo-eval", "olmo-adapt")


def project(name: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / "packages" / name / "pyproject.toml").read_text())["project"]


def requirements(name: str, extra: str | None = None) -> dict[str, Requirement]:
    meta = project(name)
    listed = meta["dependencies"] if extra is None else meta["optional-dependencies"][extra]
    return {r.name: r for r in map(Requirement, listed)}


@pytest.mark.parametrize("name", PACKAGES)
def test_each_package_carries_the_apache_license_and_a_typing_marker(name: str) -> None:
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    assert (ROOT / "packages" / name / "LICENSE").read_text() == text
    meta = project(name)
    assert meta["license"] == "Apache-2.0" and meta["license-files"] == ["LICENSE"]
    assert (ROOT / "packages" / name / "src" / name.replace("-", "_") / "py.typed").is_file()


@pytest.mark.parametrize("name", PACKAGES)
def test_each_package_has_urls_classifiers_and_keywords(name: str) -> None:
    meta = project(name)
    assert meta["urls"] and all(url.startswith("https://") for url in meta["urls"].values())
    assert {"Typing :: Typed", "Programming Language :: Python :: 3 :: Only"} <= set(meta["classifiers"])
    assert not [c for c in meta["classifiers"] if c.startswith("License ::")]  # the SPDX expression says it
    assert meta["keywords"] and meta["requires-python"] == ">=3.11"


@pytest.mark.parametrize("name", PACKAGES)
def test_siblings_are_required_within_their_minor_version(name: str) -> None:
    versions = {sibling: Version(project(sibling)["version"]) for sibling in PACKAGES}
    meta = project(name)
    listed = [*meta["dependencies"], *(r for rs in meta.get("optional-dependencies", {}).values() for r in rs)]
    for requirement in map(Requirement, listed):
        if requirement.name not in versions or requirement.name == name:
            continue
        current = versions[requirement.name]
        assert current in requirement.specifier, requirement
        assert Version(f"{current.major}.{current.minor + 1}") not in requirement.specifier, requirement


def test_the_extras_that_bring_optional_dependencies() -> None:
    assert "transformers" in requirements("olmo-core", "hf")
    assert "olmo-core" in requirements("olmo-core", "hf")  # HF interop needs the model, so torch too
    assert "nvidia-ml-py" in requirements("olmo-train", "energy")
    assert requirements("olmo-data", "plots")["olmo-core"].extras == {"plots"}


def test_curation_without_torch_pulls_no_plotting_and_no_model_hub() -> None:
    for name in ("olmo-core", "olmo-data"):
        for requirement in requirements(name).values():
            assert requirement.name not in {"torch", "matplotlib", "transformers", "huggingface-hub", "datasets"}
            assert not requirement.extras, requirement


def test_dedup_requires_the_datasketch_whose_minhash_it_calls() -> None:
    # datasketch 1.6.5 fails at MinHash(scheme=...) with "unexpected keyword argument 'scheme'"
    assert Version("2.0") in requirements("olmo-data")["datasketch"].specifier
    assert Version("1.6.5") not in requirements("olmo-data")["datasketch"].specifier


def test_the_workspace_installs_the_extras_its_tests_use() -> None:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = {r.name: r.extras for r in map(Requirement, root["project"]["dependencies"])}
    assert {"torch", "plots", "hf", "slurm"} <= wanted["olmo-core"]
    assert {"energy", "tensorboard"} <= wanted["olmo-train"]
    lock = (ROOT / "uv.lock").read_text()
    assert '\nname = "nvidia-ml-py"\n' in lock and '\nname = "transformers"\n' in lock


@pytest.mark.parametrize("name", PACKAGES)
def test_readmes_render_outside_the_repository(name: str) -> None:
    readme = (ROOT / "packages" / name / "README.md").read_text()
    targets = re.findall(r"\]\(([^)]*)\)", readme) + re.findall(r"""(?:src|href)=["']([^"']*)""", readme)
    assert [t for t in targets if not t.startswith(("https://", "#"))] == []
    assert f"# {name}" in readme and "uv pip install ./packages/" in readme


def test_floors_that_were_found_too_low() -> None:
    import importlib.metadata

    # torch 2.8's HuggingFaceStorageWriter has no save_distributed, which sharded checkpoints pass (read, not
    # imported: importing torch.distributed.checkpoint takes seconds)
    writer = importlib.metadata.distribution("torch").locate_file("torch/distributed/checkpoint/hf_storage.py")
    assert "save_distributed: bool" in Path(str(writer)).read_text()
    assert Version("2.8.0") not in requirements("olmo-core", "torch")["torch"].specifier
    # tensorboard 2.16.0 requires tf-keras-nightly, and so TensorFlow nightlies
    assert Version("2.16.0") not in requirements("olmo-train", "tensorboard")["tensorboard"].specifier
