"""Registry packages that more than one olmo package reads: pinned releases and their sha256.

Every pin was downloaded and opened. A pin lives here, in core, when packages that may not import each other
(olmo-data, olmo-adapt) both read the same release.
"""

from __future__ import annotations

from olmo_core.assets import PackageArchive

__all__ = ["LLAMAFACTORY"]

LLAMAFACTORY = PackageArchive(registry="pypi", name="llamafactory", version="0.9.5", sdist=True,
                              license="Apache-2.0",
                              sha256="1702c0bfb864e80577a59521d2edcacd2aab05ec6aee06188fcba335a589681f")
"""LLaMA-Factory's source distribution: ``data/c4_demo.jsonl`` (300 C4 documents, read by olmo-data),
``data/alpaca_en_demo.json`` (999 Alpaca-style instructions, olmo-adapt's SFT set) and
``data/dpo_en_demo.json`` (300 preference pairs, olmo-adapt's DPO set)."""
