"""Paloma-style perplexity: windows, bits per byte per domain and source, built-in held-out sets."""

from olmo_eval.perplexity.evaluator import PerplexityEvalConfig, PerplexityEvaluator, PerplexityResult, aggregate
from olmo_eval.perplexity.heldout import HELD_OUT_FRACTION, HELD_OUT_SETS, held_out_documents, is_held_out
from olmo_eval.perplexity.windows import Window, windows

__all__ = ["HELD_OUT_FRACTION", "HELD_OUT_SETS", "PerplexityEvalConfig", "PerplexityEvaluator", "PerplexityResult",
           "Window", "aggregate", "held_out_documents", "is_held_out", "windows"]
