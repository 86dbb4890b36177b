"""Direct preference optimization with cached reference log-probabilities."""
