"""Hydra override strings as olmo reads them: parsed (with a quoting hint for a value Hydra's grammar cannot
read bare), written back as a user types them, and a sweep job's swept values. Pure string work: no registry,
no plugins, so that any module (the sweeps' bookkeeping included) can use it."""

from __future__ import annotations

import re
from collections.abc import Sequence

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import Override
from hydra.errors import OverrideParseException

from olmo_core.errors import UsageError

__all__ = ["as_typed", "parse_overrides", "swept_values"]


def parse_overrides(overrides: Sequence[str]) -> list[Override]:
    """Parse Hydra override strings, or raise a :class:`UsageError` naming the one that does not parse."""
    parser = OverridesParser.create()
    parsed = []
    for text in overrides:
        try:
            parsed.extend(parser.parse_overrides([text]))
        except OverrideParseException as exc:
            raise UsageError(f"cannot parse override '{text}': {_quoting_hint(text) or str(exc).splitlines()[0]}") \
                from exc
    return parsed


def _quoting_hint(text: str) -> str:
    """How to quote the value of ``key=value`` that Hydra's grammar cannot read bare (``exclude=x < 0.5``), or a
    list whose items lost their quotes to the shell (``exclude=['x < 0.5']`` typed without outer quotes)."""
    key, sep, value = text.partition("=")
    value = value.strip()
    if sep and value.startswith("[") and value.endswith("]") and not any(q in value for q in "'\""):
        items = ",".join(f"'{item.strip()}'" for item in value[1:-1].split(","))
        return (f"the items of a list with spaces or symbols must be quoted, and the whole override too, so that the "
                f"shell keeps the inner quotes: \"{key}=[{items}]\"")
    if not sep or not value or value[0] in "'\"[{":
        return ""
    quote = "'" if "'" not in value else '"'
    outer = '"' if quote == "'" else "'"
    return (f"a value with spaces or symbols must be quoted, as in {outer}{key}={quote}{value}{quote}{outer} "
            f"(a list: {outer}{key}=[{quote}{value}{quote}]{outer})")


def as_typed(overrides: Sequence[str]) -> list[str]:
    """Overrides as a user types them: the inverse of :func:`normalize_overrides` (``olmo/model@model=x`` is
    ``model=x``, ``olmo/pipeline=smoke`` is ``pipeline=smoke``), for a command line that reproduces a run."""
    typed = []
    for text in overrides:
        text = re.sub(r"^([~+]*)olmo/[^@=]+@([^=]+)", r"\1\2", text)
        typed.append(re.sub(r"^([~+]*)olmo/([A-Za-z_]+)=", r"\1\2=", text))
    return typed


def swept_values(task: Sequence[str], fixed: Sequence[str]) -> dict[str, str]:
    """The values that one job of a sweep sets for the keys the sweep varies, by key as a user types it
    (``taggers``, not ``olmo/data/taggers@taggers``): its overrides ``task`` less those of the keys (groups) in
    ``fixed``, the keys the sweep's command line sets once (``hydra.job.config.override_dirname.exclude_keys``,
    which the runner fills so that each job's directory is named after its swept values)."""
    values: dict[str, str] = {}
    for ov in parse_overrides(task):
        if ov.key_or_group not in fixed:
            key, _, value = as_typed([ov.input_line])[0].partition("=")
            values[key.lstrip("~+")] = value
    return values
