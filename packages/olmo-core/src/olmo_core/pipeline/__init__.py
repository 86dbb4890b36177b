"""``olmo pipeline``: the stages every package registers, run in order in one run directory, resumable."""

from olmo_core.pipeline.stage import Stage, StageContext

__all__ = ["Stage", "StageContext"]
