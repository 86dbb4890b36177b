"""The plots callback: the in-loop evaluation figure draws each kind of metric on its own panel."""

from __future__ import annotations

from pathlib import Path

from olmo_core.callbacks import Callback, TrainerView

from tests.train.conftest import config, make_trainer

NAMES = ["eval/copa/acc", "eval/piqa/acc_per_token", "eval/ppl/bits_per_byte", "eval/ppl/ppl_token",
         "eval/ppl/python-docs/ppl_token", "eval/sentence/loss", "eval/downstream_seconds", "eval/ppl_seconds"]


class FakeEval(Callback):
    """Adds in-loop evaluation metrics at the scales a fresh model gives (accuracies, a 75,000 token perplexity)."""

    def on_step_end(self, trainer: TrainerView, metrics: dict) -> None:
        step = metrics["step"]
        metrics.update({"eval/copa/acc": 0.5, "eval/piqa/acc_per_token": 0.4 + step / 100,
                        "eval/ppl/bits_per_byte": 4.0 - step / 10, "eval/ppl/ppl_token": 75_000.0 / step,
                        "eval/ppl/python-docs/ppl_token": 70_000.0 / step, "eval/sentence/loss": 11.0 - step / 10,
                        "eval/downstream_seconds": 1.5, "eval/ppl_seconds": 0.7})


def test_in_loop_evaluation_is_drawn_one_panel_per_kind_of_metric(tokens: Path, tmp_path: Path) -> None:
    from matplotlib.image import imread

    from olmo_train.callbacks.plots import eval_panels

    assert eval_panels(NAMES) == {
        "accuracy": ["eval/copa/acc", "eval/piqa/acc_per_token"],
        "perplexity / bits per byte": ["eval/ppl/bits_per_byte", "eval/ppl/ppl_token",
                                       "eval/ppl/python-docs/ppl_token"],
        "loss": ["eval/sentence/loss"],
        "seconds per evaluation": ["eval/downstream_seconds", "eval/ppl_seconds"]}
    options = config(tokens, tmp_path, "p", max_steps=3, callbacks="[metrics,plots,checkpoint]")
    make_trainer(options, callbacks=[FakeEval()]).fit()
    plots = tmp_path / "p" / "plots"
    figure, single = imread(plots / "in_loop_eval.png"), imread(plots / "loss.png")
    assert figure.shape[0] > 2.5 * single.shape[0]  # 4 stacked panels, each about 0.7 of a one-axes figure
    assert figure.shape[1] > single.shape[1]  # the legends, right of the axes, widen it
