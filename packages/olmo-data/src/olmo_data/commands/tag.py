"""``olmo data tag``: run taggers over documents and write Dolma attribute files."""

from __future__ import annotations

import json
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from olmo_core.config import REQUIRED, components
from olmo_core.errors import ConfigError, PluginError
from olmo_core.io import open_atomic, write_text
from olmo_core.plugins import get_host
from olmo_core.progress import Progress

from olmo_data.layout import find_layout
from olmo_core.documents import Quarantined, read_documents
from olmo_data.taggers.base import attribute_key

__all__ = ["TagConfig", "tag_command"]


@dataclass(kw_only=True)
class TagConfig:
    """Options of ``olmo data tag``."""

    input: str = REQUIRED
    """A dataset directory (with ``documents/``), a directory or glob of JSON-lines files, or one file."""
    output: str | None = None
    """Dataset directory that receives ``attributes/``, ``quarantine/`` and ``reports/`` (default: the input's)."""
    taggers: Any = components("taggers", help="the taggers to run, in order")
    experiment: str | None = None
    """Prefix of the attribute keys (``<experiment>__<tagger>__<name>``); default: each tagger's name."""


def tag_command(config: TagConfig) -> dict[str, Any]:
    """Tag documents: write each tagger's attributes beside the documents, aligned row by row.

    Reads Dolma JSON lines (plain, .gz, .zst) from any fsspec path. Lines that are not valid documents are
    quarantined with their file, line and reason, never dropped silently; the report counts documents in,
    tagged and quarantined.
    """
    if not config.taggers:
        options = ", ".join(get_host().registry("taggers").options()) or "none installed"
        raise ConfigError(f"`olmo data tag` needs taggers: taggers=[name,...] (available: {options})")
    layout = find_layout(config.input, config.output)
    registry = get_host().registry("taggers")
    taggers = {name: registry.build(cfg) for name, cfg in config.taggers.items()}
    seconds: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    lines = documents = 0
    with Progress("tagging", unit="docs") as progress:
        for file in layout.files:
            quarantined: list[Quarantined] = []
            with ExitStack() as stack:
                outputs = {name: stack.enter_context(open_atomic(layout.attributes(name, file), "wt",
                                                                 compression="infer", encoding="utf-8"))
                           for name in taggers}
                for item in read_documents(file):
                    lines += 1
                    if isinstance(item, Quarantined):
                        quarantined.append(item)
                        reasons[item.reason.split(" (")[0]] += 1
                        continue
                    documents += 1
                    for name, tagger in taggers.items():
                        start = time.perf_counter()
                        try:
                            attributes = tagger.tag(item)
                        except Exception as exc:
                            raise PluginError(f"tagger '{name}' failed on document '{item.id}' of {file}: "
                                              f"{type(exc).__name__}: {exc}") from exc
                        seconds[name] += time.perf_counter() - start
                        prefix = config.experiment or name
                        row = {"id": item.id, "source": item.source,
                               "attributes": {attribute_key(prefix, name, k): v for k, v in attributes.items()}}
                        outputs[name].write(json.dumps(row, ensure_ascii=False) + "\n")
                    progress.advance()
            if quarantined:
                write_text(layout.quarantine(file), "".join(json.dumps(q.to_json()) + "\n" for q in quarantined))
    report = {
        "command": "data tag", "files": len(layout.files), "records": lines, "documents": documents,
        "quarantined": sum(reasons.values()), "quarantine_reasons": dict(reasons),
        "taggers": {name: {"attributes": f"{layout.root}/attributes/{name}", "seconds": round(seconds[name], 3),
                           "docs_per_second": round(documents / seconds[name], 1) if seconds[name] else None}
                    for name in taggers},
    }
    write_text(layout.report("tag"), json.dumps(report, indent=2) + "\n")
    print(f"tagged {documents} documents from {len(layout.files)} files with {', '.join(taggers)}; "
          f"quarantined {report['quarantined']}" + (f" ({dict(reasons)})" if reasons else ""))
    print(f"attributes: {layout.root}/attributes/  report: {layout.report('tag')}")
    return report
