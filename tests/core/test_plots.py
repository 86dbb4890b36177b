from __future__ import annotations

from pathlib import Path

from olmo_core.plots import bar_plot, histogram, line_plot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_each_figure_is_a_png(tmp_path: Path) -> None:
    paths = [
        line_plot(tmp_path / "loss.png", {"a": ([0, 1, 2], [3.0, 2.0, 1.5]), "b": ([0, 1, 2], [3.1, 2.5, 2.0])},
                  title="loss", xlabel="step", ylabel="loss", logy=True),
        bar_plot(tmp_path / "docs.png", {"fetched": {"c4": 300, "wiki": 3000}, "kept": {"c4": 296, "wiki": 3000}},
                 title="documents", ylabel="documents"),
        bar_plot(tmp_path / "one.png", {"c4": 1.0}, title="one", ylabel="x", horizontal=True),
        histogram(tmp_path / "lengths.png", {"c4": [10, 200, 3000], "wiki": [50, 60]}, title="lengths",
                  xlabel="characters", logx=True),
    ]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000
