"""``olmo pipeline``: from raw text to a chat model, job by job, in ``runs/<name>``."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olmo_core.config import components, preset, to_dict
from olmo_core.errors import ConfigError
from olmo_core.io import write_text
from olmo_core.job_command import sweep_job_dir
from olmo_core.logs import log_file
from olmo_core.pipeline.compare import write_comparison
from olmo_core.pipeline.runner import plan_stages, run_stages
from olmo_core.plugins import get_host

__all__ = ["DEFAULT_STAGES", "PipelineConfig", "pipeline_command", "run_directory"]

log = logging.getLogger(__name__)

DEFAULT_STAGES = ["fetch", "tag", "filter", "dedup", "mix", "decontaminate", "composition", "tokenize", "pretrain",
                  "sft", "dpo", "evaluate", "report"]
"""The stages of the built-in default pipeline, in order."""
STAGE_PROVIDERS = {**dict.fromkeys(DEFAULT_STAGES[:8], "olmo-data"), "pretrain": "olmo-train", "sft": "olmo-adapt",
                   "dpo": "olmo-adapt", "evaluate": "olmo-eval", "report": "olmo-core"}
"""Which distribution registers each default stage."""
PRESETS = Path(__file__).resolve().parent.parent / "conf" / "pipeline"
"""The presets of ``olmo pipeline``, one YAML file each (``pipeline=<name>``)."""


@dataclass(kw_only=True)
class PipelineConfig:
    """Options of ``olmo pipeline``."""

    name: str = "default"
    """Run name: the run directory is ``<runs_dir>/<name>`` (a sweep adds one sub-directory per job); each preset
    other than ``default`` names its runs after itself (``runs/smoke``)."""
    runs_dir: str = "runs"
    """Where run directories live."""
    restart: bool = False
    """Run every stage again instead of resuming after the last completed one."""
    pipeline: str = preset(PRESETS, help="preset: default, smoke (1 minute), olmo1-1b, olmo1-7b, olmo2-1b, olmo2-7b")
    """A preset of stage settings (``olmo_core/conf/pipeline/<name>.yaml``), applied before your own overrides."""
    stages: Any = components("jobs", default=DEFAULT_STAGES, providers=STAGE_PROVIDERS,
                             help="the jobs to run, in order; stages.<job>.<option>=... sets their options")
    inputs: dict[str, Any] = field(default_factory=dict)
    """Where a stage's inputs come from instead of the latest earlier output of their type: earlier stages or
    paths (``inputs.pretrain.data=[/data/tokens]``, ``inputs.evaluate.checkpoints=[pretrain,dpo]``)."""


def run_directory(runs_dir: str, name: str) -> Path:
    """``runs_dir/name``, or, inside a Hydra sweep, ``runs_dir/name/<overrides>`` per job."""
    from olmo_core.io import check_name

    return Path(sweep_job_dir(str(Path(runs_dir) / check_name("name", name))))


def _command_line() -> str:
    from hydra.core.hydra_config import HydraConfig

    from olmo_core.overrides import as_typed

    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else sys.argv[1:]
    return " ".join(["olmo pipeline", *as_typed(overrides)])


def pipeline_command(config: PipelineConfig) -> list[dict[str, Any]]:
    """Run the pipeline's jobs in order in one run directory, resuming after the last completed one.

    Each job reads the latest earlier output of the artifact types it takes (documents, token arrays,
    checkpoints ...). Every stage's options and inputs are checked before the first job runs. The run
    directory keeps the resolved config, the plugin list, the command that reproduces the run and log.txt; the
    report job writes ``report.md`` from what every job reported.
    """
    if not config.stages:
        raise ConfigError("`olmo pipeline` has no stages: choose some with stages=[...] (see `olmo pipeline --help`)")
    planned = plan_stages(config.stages, config.inputs)
    run_dir = run_directory(config.runs_dir, config.name)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text(str(run_dir / "config.json"), json.dumps(to_dict(config), indent=2, default=str) + "\n")
    write_text(str(run_dir / "plugins.json"), json.dumps(get_host().describe(), indent=2) + "\n")
    write_text(str(run_dir / "command.txt"), _command_line() + "\n")
    with log_file(str(run_dir)):
        log.info("pipeline '%s' in %s: %s", config.name, run_dir, ", ".join(s.name for s in planned))
        records = run_stages(run_dir, planned, restart=config.restart)
        summary = [{"stage": r["stage"], "status": r["status"], "seconds": r["seconds"]} for r in records]
        write_text(str(run_dir / "pipeline.json"), json.dumps(summary, indent=2) + "\n")
        ran = sum(r["status"] == "ran" for r in records)
        log.info("pipeline '%s' complete: %d stages ran, %d reused; see %s", config.name, ran, len(records) - ran,
                 run_dir)
        if run_dir.parent != Path(config.runs_dir):  # a sweep job: compare it with its siblings
            comparison = write_comparison(run_dir.parent)
            if comparison is not None:
                log.info("sweep comparison: %s", comparison)
    return [{**s, "result": r["result"].metrics} for s, r in zip(summary, records, strict=True)]
