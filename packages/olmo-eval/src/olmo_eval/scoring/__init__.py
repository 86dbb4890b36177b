"""Scoring: requests to rows, rows through a model, log-probabilities back."""

from olmo_eval.scoring.engine import fast_model, score_rows
from olmo_eval.scoring.requests import Request, build_rows, encode_requests
from olmo_eval.scoring.rows import Row, batches

__all__ = ["Request", "Row", "batches", "build_rows", "encode_requests", "fast_model", "score_rows"]
