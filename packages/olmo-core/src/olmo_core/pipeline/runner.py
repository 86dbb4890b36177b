"""Running stages in order, skipping those already completed with the same configuration."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from olmo_core.config import to_dict
from olmo_core.errors import PluginError
from olmo_core.io import write_text
from olmo_core.pipeline.stage import StageContext
from olmo_core.plugins import get_host

__all__ = ["run_stages"]

DONE = "done.json"
ATTEMPT = "attempt.json"


def _fingerprint(previous: str, name: str, config: Any, options: Mapping[str, Any]) -> str:
    text = json.dumps({"previous": previous, "stage": name, "config": to_dict(config), **options}, sort_keys=True,
                      default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run_stages(run_dir: Path, stages: Mapping[str, Any], *, seed: int, restart: bool = False,
               options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run ``stages`` (name to composed config) in order under ``run_dir``; return one record per stage.

    ``options`` are run-wide settings (such as ``train``: options of ``olmo train`` for training stages); a
    stage sees those its class names in ``reads_options``, and they count in its fingerprint.

    A stage whose ``done.json`` records the same fingerprint (its config and every earlier stage's) is not
    run again, and its saved result is reused, unless a stage before it ran in this run or its class sets
    ``always_run`` (as the report does). A stage that fails or is killed leaves no ``done.json``, so the next
    run starts there; its directory is kept when its configuration is unchanged (``attempt.json``), so that a
    stage that resumes by itself (training from its checkpoints) does.
    """
    registry = get_host().registry("stages")
    records: list[dict[str, Any]] = []
    results: dict[str, dict[str, Any]] = {}
    previous = ""
    upstream_ran = False
    for index, (name, config) in enumerate(stages.items()):
        stage_dir = run_dir / "stages" / f"{index:02d}-{name}"
        factory = registry.component_of(config).factory
        seen = {key: (options or {}).get(key) for key in getattr(factory, "reads_options", ())}
        fingerprint = _fingerprint(previous, name, config, {"options": seen} if seen else {})
        done = stage_dir / DONE
        saved = json.loads(done.read_text()) if done.is_file() else None
        always = getattr(factory, "always_run", False)
        if saved and saved["fingerprint"] == fingerprint and not restart and not upstream_ran and not always:
            record = {**saved, "status": "reused"}
            print(f"[{index + 1}/{len(stages)}] {name}: completed earlier, reusing its result", flush=True)
        else:
            attempt = stage_dir / ATTEMPT
            same = attempt.is_file() and json.loads(attempt.read_text()).get("fingerprint") == fingerprint
            if stage_dir.exists() and not (same and not restart):
                shutil.rmtree(stage_dir)
            stage_dir.mkdir(parents=True, exist_ok=True)
            write_text(str(attempt), json.dumps({"fingerprint": fingerprint}) + "\n")
            print(f"[{index + 1}/{len(stages)}] {name} ...", flush=True)
            stage = registry.build(config)
            context = StageContext(run_dir=run_dir, stage_dir=stage_dir, name=name, seed=seed, results=dict(results),
                                   options=seen)
            start = time.perf_counter()
            result = stage.run(context)
            if not isinstance(result, dict):
                raise PluginError(f"stage '{name}' returned {type(result).__name__}, not a dict of results")
            record = {"stage": name, "fingerprint": fingerprint, "seconds": round(time.perf_counter() - start, 3),
                      "result": result, "status": "ran"}
            upstream_ran = True
            write_text(str(done), json.dumps({k: v for k, v in record.items() if k != "status"}, indent=2,
                                             default=str) + "\n")
            print(f"[{index + 1}/{len(stages)}] {name}: done in {record['seconds']:.1f}s", flush=True)
        results[name] = record["result"]
        records.append(record)
        previous = fingerprint
    return records
