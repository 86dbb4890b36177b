"""The errors olmo shows to its users.

Every error a user can cause derives from :class:`OlmoError`. The ``olmo`` command prints such an error as
one line (``error: ...``) and exits with its :attr:`OlmoError.exit_code`; ``OLMO_FULL_ERROR=1`` shows the
traceback instead. Plugins raise these for problems their users should see.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["ConfigError", "MissingDependencyError", "OlmoError", "PluginError", "UnknownComponentError", "UsageError",
           "did_you_mean", "install_command"]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """Return `` (did you mean 'x'?)`` naming the closest of ``choices`` to ``word`` (and any about as close),
    or ``""`` when none is close.

    A choice is compared whole and by its parts (``gopher_quality`` also as ``gopher`` and ``quality``), so
    that ``gophr`` suggests both ``gopher_*`` names and ``min`` suggests ``min_words``.
    """
    scored = [(_closeness(word, choice), choice) for choice in sorted(set(choices))]
    best = max((score for score, _ in scored), default=0.0)
    if best < 0.6:
        return ""
    close = [choice for score, choice in sorted(scored, key=lambda s: (-s[0], s[1])) if score >= best - 0.02][:3]
    return " (did you mean " + " or ".join(f"'{c}'" for c in close) + "?)"


def _closeness(word: str, choice: str) -> float:
    """How alike ``word`` is to ``choice`` or, a little less, to one of its parts of three or more characters."""
    score = difflib.SequenceMatcher(None, word, choice).ratio()
    parts = [part for part in re.split(r"[_\-.]", choice) if len(part) >= 3 and part != choice]
    if len(word) >= 3:
        for part in parts:
            score = max(score, difflib.SequenceMatcher(None, word, part).ratio() - 0.05)
    return score


class OlmoError(Exception):
    """Base of all errors meant for the user: the message says what went wrong, where, and what to do."""

    exit_code: int = 1


class UsageError(OlmoError):
    """The command line was wrong: an unknown command, flag or argument."""

    exit_code = 2


class ConfigError(OlmoError):
    """A configuration key or value is invalid: an unknown key, a wrong type, a missing required value."""

    exit_code = 2


class PluginError(OlmoError):
    """A plugin failed to load or broke the hook contract; the message names the plugin and its distribution."""


class UnknownComponentError(OlmoError, KeyError):
    """A component name is not registered for its kind; the message suggests close names and lists the rest."""

    exit_code = 2

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(set(known))
        self.kind, self.name, self.known = kind, name, known
        listing = ", ".join(known) if known else "none are installed"
        super().__init__(f"unknown {kind} '{name}'{did_you_mean(name, known)}; available: {listing} (see `olmo plugins`)")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


FIRST_PARTY = ("olmo-core", "olmo-data", "olmo-train", "olmo-eval", "olmo-adapt")
"""olmo's own distributions, each in ``packages/<name>`` of a clone of the repository."""


def install_command(*requirements: str) -> str:
    """The command that installs ``requirements`` (``name`` or ``name[extra]``), in backquotes; for olmo's own
    packages followed by ``, or from a clone of olmo `uv pip install ./packages/olmo-eval```, the form that
    works at the root of a clone, where the packages are not taken from the package index."""

    def quoted(words: list[str]) -> str:
        return " ".join(f"'{w}'" if "[" in w else w for w in words)

    names = [r.split("[")[0] for r in requirements]
    command = f"`uv pip install {quoted(list(requirements))}`"
    if not any(name in FIRST_PARTY for name in names):
        return command
    local = [f"./packages/{r}" if name in FIRST_PARTY else r for r, name in zip(requirements, names, strict=True)]
    return f"{command}, or from a clone of olmo `uv pip install {quoted(local)}`"


class MissingDependencyError(OlmoError, ImportError):
    """An optional dependency is not installed; the message gives the exact command that installs it."""

    def __init__(self, what: str, *, distribution: str, extra: str | None = None) -> None:
        requirement = f"{distribution}[{extra}]" if extra else distribution
        self.requirement = requirement
        super().__init__(f"{what} needs {requirement}: install it with {install_command(requirement)}")
