"""Filter expressions over a document's attributes: ``gopher__gopher__word_count < 50``.

An expression is a Python-syntax expression restricted to comparisons, ``and``/``or``/``not``, arithmetic,
literals and a few functions; names are attribute keys. A bare key stands for the value of its first span
(a document-level value), or ``0`` when the document has no span of it. Functions: ``count(key)`` (number
of spans), ``total(key)`` (sum of span values), ``highest(key)`` (largest span value, 0 if none),
``covered(key)`` (fraction of the text's characters its spans cover), and ``attr("key-with-dashes")`` for
keys that are not identifiers. Two names are the document's own: ``source`` (its source) and ``length``
(its text's characters). Unknown keys are refused before anything runs, with the closest key named.
Arithmetic takes numbers only (no string repetition or formatting) and an expression has at most
:data:`MAX_LENGTH` characters, so it costs little per document; a malformed one is a one-line config error.
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
            ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE,
            ast.In, ast.NotIn, ast.Name, ast.Load, ast.Constant, ast.Call, ast.List, ast.Tuple)
MAX_LENGTH = 1000
"""Longest expression in characters (which bounds its literals too)."""
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
        if len(text) > MAX_LENGTH:
            raise ConfigError(f"filter expression {text[:60]!r}... has {len(text)} characters, more than {MAX_LENGTH}")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ConfigError(f"cannot parse filter expression {text!r}: {exc.msg}") from None
        keys: set[str] = set()
        for node in ast.walk(tree):
            problem = _problem(node)
            if problem:
                raise ConfigError(f"filter expression {text!r} {problem}")
            if isinstance(node, ast.Call):
                keys.add(_key(node))
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
            "_number": _number,
        }
        try:
            return eval(self._code, {"__builtins__": {}}, env)  # noqa: S307  (checked AST, no builtins)
        except (TypeError, ZeroDivisionError) as exc:
            raise ConfigError(f"filter expression {self.text!r} fails on a document: {exc}") from None


def _problem(node: ast.AST) -> str | None:
    """What makes ``node`` not allowed in an expression, or ``None``."""
    if not isinstance(node, _ALLOWED):
        return f"uses {type(node).__name__}, which is not allowed"
    if isinstance(node, ast.Call):
        argument = node.args[0] if len(node.args) == 1 and not node.keywords else None
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS or not (
                isinstance(argument, ast.Name) or isinstance(argument, ast.Constant) and type(argument.value) is str):
            return f"calls a function wrongly: functions are {', '.join(_FUNCTIONS)}, each with one key as argument"
    if isinstance(node, ast.BinOp) and any(isinstance(side, (ast.List, ast.Tuple)) or isinstance(side, ast.Constant)
                                           and type(side.value) is str for side in (node.left, node.right)):
        return "does arithmetic on what is not a number"
    if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int, float, type(None))):
        return f"uses the literal {node.value!r}, which is not allowed"
    return None


def _key(call: ast.Call) -> str:
    argument = call.args[0]
    return argument.value if isinstance(argument, ast.Constant) else argument.id  # type: ignore[attr-defined]


def _number(value: Any) -> int | float:
    if not isinstance(value, (int, float)):
        raise TypeError(f"arithmetic on {type(value).__name__} {str(value)[:40]!r}, which is not a number")
    return value


class _Rewriter(ast.NodeTransformer):
    """Bare names become ``_value("name")``; a function's name argument becomes its key string."""

    def visit_Call(self, node: ast.Call) -> ast.AST:
        func = node.func.id  # type: ignore[attr-defined]
        name = "_value" if func == "attr" else func
        return ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=[ast.Constant(_key(node))], keywords=[])

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        node.left, node.right = (ast.Call(func=ast.Name(id="_number", ctx=ast.Load()), args=[side], keywords=[])
                                 for side in (node.left, node.right))
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in DOCUMENT_NAMES:
            return node
        return ast.Call(func=ast.Name(id="_value", ctx=ast.Load()), args=[ast.Constant(node.id)], keywords=[])
