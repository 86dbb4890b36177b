"""Scoring: requests to rows (:mod:`.requests`, :mod:`.rows`), rows through a model and log-probabilities back
(:mod:`.engine`, which needs torch and is imported from its module)."""

from olmo_eval.scoring.requests import Request, build_rows, encode_requests
from olmo_eval.scoring.rows import Row, batches

__all__ = ["Request", "Row", "batches", "build_rows", "encode_requests"]
