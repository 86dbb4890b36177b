"""The hook reference in docs/plugins.md stays in step with the hook specs, and every hook is tested."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from olmo_core import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("olmo_"))


def signature(name: str) -> str:
    params = inspect.signature(getattr(hookspecs, name)).parameters
    return f"{name}({', '.join(params)})"


def test_there_are_hooks() -> None:
    assert len(HOOKS) >= 15


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_its_exact_signature(hook: str) -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text()
    headings = re.findall(r"^### `([^`]+)`", docs, flags=re.M)
    assert signature(hook) in headings, f"docs/plugins.md needs a heading ### `{signature(hook)}`"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_spec_has_a_docstring_with_its_parameters(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    for param in inspect.signature(getattr(hookspecs, hook)).parameters:
        assert f":param {param}:" in doc


def test_documented_hooks_exist() -> None:
    docs = (ROOT / "docs" / "plugins.md").read_text()
    documented = {h.split("(")[0] for h in re.findall(r"^### `([^`]+)`", docs, flags=re.M)}
    assert documented == set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_exercised_by_a_test(hook: str) -> None:
    this = Path(__file__).resolve()
    sources = [p.read_text() for p in (ROOT / "tests").rglob("test_*.py") if p.resolve() != this]
    assert any(f'"{hook}"' in source or f"def {hook}(" in source for source in sources), \
        f"no test implements or names {hook}"
