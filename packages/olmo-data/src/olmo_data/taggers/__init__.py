"""Taggers: components that compute Dolma-style attributes of documents."""

from olmo_data.taggers.base import Attributes, Span, Tagger, attribute_key

__all__ = ["Attributes", "Span", "Tagger", "attribute_key"]
