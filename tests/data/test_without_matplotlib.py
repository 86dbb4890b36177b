"""The data jobs work without matplotlib (olmo-core's ``plots`` extra): figures are skipped with a note."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from olmo_core import plots
from olmo_core.errors import MissingDependencyError
from olmo_core.jobs import JobResult

NOTE = "not drawn: drawing figures needs olmo-core[plots]: install it with `uv pip install 'olmo-core[plots]'`"


@pytest.fixture
def no_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    """matplotlib cannot be imported, as in an install of olmo-core and olmo-data without extras."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


@pytest.mark.usefixtures("no_matplotlib")
def test_drawing_names_the_extra_in_one_line(tmp_path: Path) -> None:
    assert not plots.available()
    with pytest.raises(MissingDependencyError) as error:
        plots.bar_plot(tmp_path / "x.png", {"a": 1.0}, title="t", ylabel="y")
    message = str(error.value)
    assert "\n" not in message and "olmo-core[plots]" in message
    assert "`uv pip install './packages/olmo-core[plots]'`" in message


@pytest.mark.usefixtures("no_matplotlib")
def test_tokenize_reports_without_its_figure(dataset: Path, tmp_path: Path, olmo_cli: Any) -> None:
    out = tmp_path / "tokens"
    result = olmo_cli("data", "tokenize", f"input={dataset}", f"output={out}")
    assert result.exit_code == 0, result.err
    report = (out / "report.md").read_text()
    assert "## Tokens" in report and f"(tokens per source {NOTE}" in report and "![" not in report
    assert not (out / "tokens.png").exists()


@pytest.mark.usefixtures("no_matplotlib")
def test_stats_skips_its_figures_with_a_note(dataset: Path, tmp_path: Path, olmo_cli: Any) -> None:
    out = tmp_path / "stats"
    result = olmo_cli("data", "stats", f"input={dataset}", f"output={out}", "tokenizer=null", "ngrams=[1]")
    assert result.exit_code == 0, result.err
    assert f"(figures {NOTE}" in (out / "report.md").read_text()
    assert not list(out.rglob("*.png"))


@pytest.mark.usefixtures("no_matplotlib")
def test_composition_reports_its_table_without_the_figure(tmp_path: Path) -> None:
    from olmo_data.commands.composition import CompositionJob

    metrics = {"documents_per_step": {"fetched": {"web": 3, "books": 2}, "curated": {"web": 2, "books": 2}},
               "dropped_by": {"x < 1": 1}, "duplicates": 0, "contaminated_documents": 0}
    report = CompositionJob().report(JobResult(metrics=metrics, workdir=str(tmp_path)))
    assert report.figures == [] and f"(composition {NOTE}" in report.markdown
    assert "| web | 3 | 2 |" in report.markdown
