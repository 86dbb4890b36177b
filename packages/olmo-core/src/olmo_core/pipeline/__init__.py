"""``olmo pipeline``: registered jobs run in order in one run directory, wired by artifact type, resumable."""

from olmo_core.pipeline.runner import PlannedStage, plan_stages, run_stages

__all__ = ["PlannedStage", "plan_stages", "run_stages"]
