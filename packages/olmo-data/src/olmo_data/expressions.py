"""Filter expressions over a document's attributes: ``gopher__gopher__word_count < 50``.

An expression is a Python-syntax expression restricted to comparisons, ``and``/``or``/``not``, arithmetic,
literals and a few functions; names are attribute keys. A bare key stands for the value of its first span
(a document-level value), or ``0`` when the document has no span of it. Functions: ``count(key)`` (number
of spans), ``total(key)`` (sum of span values), ``highest(key)`` (largest span value, 0 if none),
``covered(key)`` (fraction of the text's characters its spans cover), and ``attr("key-with-dashes")`` for
keys that are not identifiers. Two names are the document's own: ``source`` (its source) and ``length``
(its text's characters). Unknown keys are refused before anything runs, with the closest key named.
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from olmo_core.errors import ConfigError, did_you_mean

__all__ = ["Expression"]

_ALLOWED = (ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp,
            ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt,
            ast.GtE, ast.In, ast.NotIn, ast.Name, ast.Load, ast.Constant, ast.Call, ast.List, ast.Tuple)
_FUNCTIONS = ("count", "total", "highest", "covered", "attr")
DOCUMENT_NAMES = ("source", "length")
"""Names that stand for the document itself rather than an attribute."""


def _closest(key: str, known: set[str]) -> str:
    """`` (did you mean ...?)`` with the closest keys, or the few closest by name, and how many there are."""
    if not known:
        return "; there are no attribute keys (tag the documents first)"
    if len(known) <= 5:
        return f"{did_you_mean(key, known)}; available: {', '.join(sorted(known))}"
    suggestion = did_you_mean(key, known)
    if suggestion:
        return f"{suggestion}; {len(known)} attribute keys in all"
    nearest = difflib.get_close_matches(key, sorted(known), n=3, cutoff=0.0)
    return f"; the closest of its {len(known)} attribute keys: {', '.join(nearest)}"


def _first(spans: list[list[Any]]) -> Any:
    return spans[0][2] if spans else 0


def _covered(spans: list[list[Any]], length: int) -> float:
    return sum(int(s[1]) - int(s[0]) for s in spans) / length if length else 0.0


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression; call :meth:`evaluate` with a document's attributes and text length."""

    text: str
    keys: frozenset[str]
    _code: Any

    @classmethod
    def parse(cls, text: str, known: Iterable[str] | None) -> Expression:
        """Parse ``text``; every attribute key it names must be in ``known`` (``None``: not checked, to learn
        which keys an expression needs). Raises :class:`ConfigError`, quoting the expression, when it does not
        parse, uses what is not allowed or names an unknown key (with the closest known keys)."""
        if not isinstance(text, str):
            raise ConfigError(f"filter expression {text!r} is a {type(text).__name__}, not a string")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ConfigError(f"cannot parse filter expression {text!r}: {exc.msg}") from None
        keys: set[str] = set()
        for node in ast.walk(tree):
            if not isinstance(node, _ALLOWED):
                raise ConfigError(f"filter expression {text!r} uses {type(node).__name__}, which is not allowed")
            if isinstance(node, ast.Call):
                if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or len(node.args) != 1 \
                        or node.keywords:
                    raise ConfigError(f"filter expression {text!r}: functions are {', '.join(_FUNCTIONS)}, "
                                      f"each with one argument")
                argument = node.args[0]
                if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                    keys.add(argument.value)
            elif isinstance(node, ast.Name) and node.id not in _FUNCTIONS and node.id not in DOCUMENT_NAMES:
                keys.add(node.id)
        for key in sorted(keys):
            if known is not None and key not in known:
                raise ConfigError(f"filter expression {text!r} names attribute '{key}', which the attribute files "
                                  f"do not have{_closest(key, set(known))}")
        rewritten = _Rewriter().visit(tree)
        ast.fix_missing_locations(rewritten)
        return cls(text, frozenset(keys), compile(rewritten, f"<filter {text}>", "eval"))

    def evaluate(self, attributes: Mapping[str, list[list[Any]]], length: int, source: str = "") -> Any:
        """The expression's value for one document."""
        env: dict[str, Any] = {
            "source": source,
            "length": length,
            "_value": lambda key: _first(attributes.get(key, [])),
            "count": lambda key: len(attributes.get(key, [])),
            "total": lambda key: sum(s[2] for s in attributes.get(key, [])),
            "highest": lambda key: max((s[2] for s in attributes.get(key, [])), default=0),
            "covered": lambda key: _covered(attributes.get(key, []), length),
        }
        return eval(self._code, {"__builtins__": {}}, env)  # noqa: S307  (checked AST, no builtins)


class _Rewriter(ast.NodeTransformer):
    """Bare names become ``_value("name")``; a function's name argument becomes its key string."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func.id  # type: ignore[attr-defined]
        argument = node.args[0]
        key = argument.value if isinstance(argument, ast.Constant) else argument.id  # type: ignore[attr-defined]
        name = "_value" if func == "attr" else func
        return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=[ast.Constant(key)], keywords=[])

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in DOCUMENT_NAMES:
            return node
        return ast.Call(func=ast.Name(id="_value", ctx=ast.Load()), args=[ast.Constant(node.id)], keywords=[])
