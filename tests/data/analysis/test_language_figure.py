"""The language mix figure of ``olmo data stats``, drawn from a really tagged corpus: its legend covers no bar."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib")


def test_the_languages_legend_covers_no_bar(analysis: None, corpus: Path, olmo_cli: Any, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import olmo_core.plots

    drawn: dict[str, Any] = {}
    save = olmo_core.plots._save

    def keep(fig: Any, path: str | Path) -> Path:
        target = save(fig, path)
        drawn[Path(path).name] = fig
        return target

    monkeypatch.setattr(olmo_core.plots, "_save", keep)
    tagged = olmo_cli("data", "tag", f"input={corpus}", "taggers=[language]")
    assert tagged.exit_code == 0, tagged.err
    stats = olmo_cli("data", "stats", f"input={corpus}", f"output={tmp_path / 'stats'}", "tokenizer=null",
                     "ngrams=[1]", "top_k=5")
    assert stats.exit_code == 0, stats.err

    fig = drawn["languages.png"]
    fig.canvas.draw()
    (ax,) = fig.axes
    legend = ax.get_legend()
    assert legend is not None and len(legend.get_texts()) > 1
    box = legend.get_window_extent()
    bars = [patch for patch in ax.patches if patch.get_width() > 0]
    assert bars
    covered = [bar for bar in bars if box.overlaps(bar.get_window_extent())]
    assert covered == [], f"the legend {box} covers {len(covered)} of {len(bars)} bars"
    figure_box = fig.bbox
    assert figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1 + 1, "the legend is cut off the figure"
