"""``olmo pipeline``: from raw text to a chat model, stage by stage, in ``runs/<name>``."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olmo_core.config import components, preset, to_dict
from olmo_core.errors import ConfigError
from olmo_core.io import write_text
from olmo_core.pipeline.compare import write_comparison
from olmo_core.pipeline.presets import PIPELINE_PRESETS
from olmo_core.pipeline.runner import run_stages
from olmo_core.plugins import get_host

__all__ = ["DEFAULT_STAGES", "PipelineConfig", "RunConfig", "pipeline_command", "run_directory", "run_pipeline"]

DEFAULT_STAGES = ["fetch", "curate", "tokenize", "pretrain", "sft", "dpo", "evaluate", "report"]
"""The stages of the built-in default pipeline, in order."""
STAGE_PROVIDERS = {"fetch": "olmo-data", "curate": "olmo-data", "tokenize": "olmo-data", "pretrain": "olmo-train",
                   "sft": "olmo-adapt", "dpo": "olmo-adapt", "evaluate": "olmo-eval", "report": "olmo-core"}
"""Which distribution registers each default stage."""


@dataclass(kw_only=True)
class RunConfig:
    """What every staged run has: its name and place, its seed, and whether to start over."""

    name: str = "default"
    """Run name: the run directory is ``<runs_dir>/<name>`` (a sweep adds one sub-directory per job)."""
    runs_dir: str = "runs"
    """Where run directories live."""
    seed: int = 0
    """Seed of every stage."""
    restart: bool = False
    """Run every stage again instead of resuming after the last completed one."""


@dataclass(kw_only=True)
class PipelineConfig(RunConfig):
    """Options of ``olmo pipeline``."""

    pipeline: str = preset(PIPELINE_PRESETS, help="preset: default, smoke (2 minutes), olmo1-1b, olmo1-7b")
    """A preset of stage settings (``olmo_core.pipeline.presets``), applied before your own overrides."""
    stages: Any = components("stages", default=DEFAULT_STAGES, providers=STAGE_PROVIDERS,
                             help="the stages to run, in order")
    train: dict[str, Any] = field(default_factory=dict)
    """Options of ``olmo train`` for the pretraining stage (``train.optim.lr=3e-3``, ``train.model=olmo-small``,
    ``train.backend=fsdp``): any key ``olmo train`` accepts."""


def run_directory(runs_dir: str, name: str) -> Path:
    """``runs_dir/name``, or, inside a Hydra sweep, ``runs_dir/name/<job number>-<overrides>`` per job."""
    if not re.fullmatch(r"[A-Za-z0-9._-]+", name):
        raise ConfigError(f"run name {name!r} may only hold letters, digits, '.', '_' and '-'")
    base = Path(runs_dir) / name
    from hydra.core.hydra_config import HydraConfig

    if HydraConfig.initialized():
        job = HydraConfig.get()
        if str(job.mode) == "RunMode.MULTIRUN":
            label = re.sub(r"[^A-Za-z0-9._=,-]+", "_", job.job.override_dirname) or "defaults"
            return base / f"{job.job.num}-{label}"
    return base


def _command_line(command: str) -> str:
    from hydra.core.hydra_config import HydraConfig

    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else sys.argv[1:]
    return " ".join([f"olmo {command}", *overrides])


def run_pipeline(config: RunConfig, *, command: str) -> tuple[Path, list[dict[str, Any]]]:
    """Run ``config.stages`` in ``<config.runs_dir>/<config.name>``, keeping there the resolved config, the
    plugin list and the command line; return the run directory and one record per stage."""
    stages = getattr(config, "stages", None)
    if not stages:
        raise ConfigError(f"`olmo {command}` has no stages: choose some with stages=[...] "
                          f"(see `olmo {command} --help`)")
    run_dir = run_directory(config.runs_dir, config.name)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_text(str(run_dir / "config.json"), json.dumps(to_dict(config), indent=2, default=str) + "\n")
    write_text(str(run_dir / "plugins.json"), json.dumps(get_host().describe(), indent=2) + "\n")
    write_text(str(run_dir / "command.txt"), _command_line(command) + "\n")
    print(f"{command} '{config.name}' in {run_dir}: {', '.join(stages)}", flush=True)
    options = {"train": dict(getattr(config, "train", None) or {})}
    records = run_stages(run_dir, stages, seed=config.seed, restart=config.restart, options=options)
    summary = [{"stage": r["stage"], "status": r["status"], "seconds": r["seconds"]} for r in records]
    write_text(str(run_dir / "pipeline.json"), json.dumps(summary, indent=2) + "\n")
    ran = sum(r["status"] == "ran" for r in records)
    print(f"{command} '{config.name}' complete: {ran} stages ran, {len(records) - ran} reused; see {run_dir}")
    if run_dir.parent != Path(config.runs_dir):  # a sweep job: compare it with its siblings
        comparison = write_comparison(run_dir.parent)
        if comparison is not None:
            print(f"sweep comparison: {comparison}")
    return run_dir, records


def pipeline_command(config: PipelineConfig) -> list[dict[str, Any]]:
    """Run the pipeline's stages in order in one run directory, resuming after the last completed stage.

    Each stage reads what earlier stages wrote in the run directory. The run directory keeps the resolved
    config, the plugin list and the command that reproduces the run; the report stage summarizes it.
    """
    return run_pipeline(config, command="pipeline")[1]
