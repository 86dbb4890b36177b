"""``olmo data decontaminate``: drop documents that contain a paragraph of an evaluation set."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from olmo_core.config import REQUIRED, components
from olmo_core.io import write_text
from olmo_core.plugins import get_host

from olmo_data.commands.dedup import DedupConfig, dedup_command
from olmo_data.commands.filter import FilterConfig, filter_command
from olmo_data.decontamination import saved_evaluation_filter
from olmo_data.layout import find_layout, report_name

__all__ = ["DecontaminateConfig", "decontaminate_command"]

NAME = "decontamination"


@dataclass(kw_only=True)
class DecontaminateConfig:
    """Options of ``olmo data decontaminate``."""

    input: str = REQUIRED
    """The dataset directory to decontaminate."""
    output: str = REQUIRED
    """The dataset directory of the clean documents (dropped ones under ``dropped/`` with their reason)."""
    eval: list[str] = field(default_factory=list)
    """Evaluation documents (paths or globs of Dolma JSON lines)."""
    tasks: Any = components("tasks", help="registered evaluation tasks whose texts are evaluation data "
                                          "(olmo-eval's tasks, when installed)")
    normalize: str = "simple"
    """Paragraph normalization (as the bloom deduper's): ``simple`` ignores case, accents, punctuation and
    digits, so a lightly edited copy still matches."""
    min_chars: int = 40
    """Evaluation paragraphs shorter than this are ignored: short lines ("Yes", "Answer:") are everywhere."""
    workers: int = 1
    """Processes hashing files in parallel (0: one per CPU core); the result does not depend on it."""
    shard: str | None = None
    """Handle only shard ``i/N`` of the input files (every N-th from the i-th): each shard checks and filters
    its own files; the filter is built by the first job that needs it and shared by the others."""


def decontaminate_command(config: DecontaminateConfig) -> dict[str, Any]:
    """Drop every document that contains a paragraph of the evaluation data.

    The evaluation paragraphs go into a Bloom filter (false-positive rate 1e-6); the ``bloom`` deduper checks
    the dataset against it without adding to it, and the filter step drops documents with any match. The
    report lists, per source, the documents dropped, and ``dropped/`` keeps them.

    The filter is saved as ``<input>/dedup/decontamination.bloom``. A run over all files builds it afresh; a
    shard's job (``shard=i/N``) reuses one built from the same evaluation data and settings, or builds it.
    Each shard writes its files and ``reports/decontaminate-shard-i-of-N.json``.
    """
    layout = find_layout(config.input, None)
    settings = {"hash": "blake2b-128", "paragraph": "line", "normalize": config.normalize,
                "min_chars": config.min_chars}
    filter_path = f"{layout.root}/dedup/{NAME}.bloom"
    per_origin = saved_evaluation_filter(filter_path, config.eval, dict(config.tasks), settings=settings,
                                         rebuild=config.shard is None)
    _, node = get_host().registry("dedupers").resolve("bloom")
    node.load, node.read_only = filter_path, True
    node.normalize, node.min_chars = config.normalize, config.min_chars
    dedup_command(DedupConfig(input=layout.root, dedupers={NAME: node}, workers=config.workers,
                              shard=config.shard, phase="all"))
    key = f"{NAME}__{NAME}__duplicate_paragraph"
    report = filter_command(FilterConfig(input=layout.root, output=config.output, attributes=[NAME],
                                         exclude=[f"count({key}) > 0"], workers=config.workers, shard=config.shard))
    summary = {"command": "data decontaminate", "shard": config.shard, "evaluation_paragraphs": per_origin,
               "filter": filter_path, "contaminated_documents": report["dropped"], "kept": report["kept"],
               "per_source": report["per_source"]}
    name = report_name("decontaminate", config.shard)
    write_text(f"{config.output.rstrip('/')}/reports/{name}.json", json.dumps(summary, indent=2) + "\n")
    print(f"decontaminated against {sum(per_origin.values()):,} evaluation paragraphs from {len(per_origin)} "
          f"origins: dropped {report['dropped']:,} contaminated documents, kept {report['kept']:,}")
    return summary
