"""In-loop evaluation on a real ``olmo train`` run, with evaluators from the registry (a third party's too)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator
from olmo_eval.perplexity.evaluator import PerplexityEvalConfig, PerplexityEvaluator

from tests.eval.conftest import SentenceConfig, SentenceLoss


def test_in_loop_evaluation_through_olmo_train(tokens: Path, dataset: Path, tmp_path: Path,
                                               sentence_evaluator: str) -> None:
    """The callback selected by name, with the downstream, perplexity and a third party's evaluators: their
    metrics land in metrics.jsonl at its interval and at the last step, equal to an offline evaluation of the
    checkpoint of that step, and the model is back in training mode after each evaluator."""
    from olmo_core.model_io import load_model

    from tests.train.conftest import config, make_trainer

    evaluators = "callbacks.evaluate.evaluators"
    SentenceLoss.modes.clear()
    trainer = make_trainer(config(tokens, tmp_path, "in-loop", max_steps=3, **{
        "callbacks": "[evaluate,metrics,checkpoint]", "callbacks.checkpoint.interval": 1,
        "callbacks.evaluate.interval": 2, evaluators: f"[downstream,perplexity,{sentence_evaluator}]",
        f"{evaluators}.downstream.tasks": "[copa,piqa]", f"{evaluators}.downstream.limit": 6,
        f"{evaluators}.downstream.unconditional": "false", f"{evaluators}.perplexity.input": str(dataset),
        f"{evaluators}.perplexity.window": 64, f"{evaluators}.perplexity.max_documents": 3}))
    trainer.fit()
    rows = [json.loads(line) for line in (tmp_path / "in-loop" / "metrics.jsonl").read_text().splitlines()]
    measured = {r["step"]: {k: v for k, v in r.items() if k.startswith("eval/")} for r in rows}
    assert not measured[1] and measured[2] and measured[3] and SentenceLoss.modes == [True, True]
    assert {"eval/piqa/acc_per_token", "eval/downstream_seconds", "eval/ppl_seconds"} <= set(measured[2])
    assert measured[3]["eval/piqa/acc"] == measured[3]["eval/piqa/acc_per_token"]
    assert "eval/piqa/acc_uncond" not in measured[3]

    loaded = load_model(tmp_path / "in-loop" / "checkpoints" / "step000003")
    model = loaded.model.eval()
    offline = DownstreamEvaluator(DownstreamEvalConfig(tasks=["copa", "piqa"], limit=6, unconditional=False)).evaluate(
        model, loaded.tokenizer)
    for name, value in offline.metrics().items():
        assert name == "downstream_seconds" or measured[3][f"eval/{name}"] == value
    ppl = PerplexityEvaluator(PerplexityEvalConfig(input=str(dataset), window=64, max_documents=3)).evaluate(
        model, loaded.tokenizer)
    assert measured[3]["eval/ppl/python-docs/bits_per_byte"] == pytest.approx(ppl.bits_per_byte, abs=1e-6)
    assert measured[3]["eval/ppl/bits_per_byte"] == pytest.approx(ppl.sources["python-docs"]["bits_per_byte"])
    sentence = SentenceLoss(SentenceConfig()).evaluate(model, loaded.tokenizer).metrics()["sentence/loss"]
    assert measured[3]["eval/sentence/loss"] == pytest.approx(sentence, abs=1e-5)


def test_the_callback_refuses_a_bad_evaluator_option_when_it_is_built(olmo_compose: Any) -> None:
    from olmo_core.errors import ConfigError

    from olmo_eval.callbacks import EvaluateCallback

    evaluators = "callbacks.evaluate.evaluators"
    config = olmo_compose("train", ["data=[x]", "callbacks=[evaluate]", f"{evaluators}.downstream.tasks=[copa]",
                                    f"{evaluators}.downstream.tasks.copa.metric=acc_foo"])
    with pytest.raises(ConfigError, match=rf"^{evaluators}.downstream.tasks.copa: task metric 'acc_foo' is not one"):
        EvaluateCallback(config.callbacks["evaluate"])
