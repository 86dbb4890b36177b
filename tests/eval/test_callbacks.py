"""In-loop evaluation through the callback contract, against a small trainer that satisfies TrainerView."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import json

import pytest
import torch

from olmo_core.callbacks import Callback
from olmo_core.nn.model import OLMo
from olmo_core.plugins import get_host
from olmo_core.tokenizer import Tokenizer

from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator
from olmo_eval.perplexity.evaluator import PerplexityEvalConfig, PerplexityEvaluator
from olmo_eval.sources import read_eval_documents

from tests.conftest import stdlib_documents
from tests.train.conftest import tokens  # noqa: F401  (the fixture: real token arrays)


@dataclass
class Trainer:
    """What a trainer shows its callbacks (olmo_core.callbacks.TrainerView), around a real tiny OLMo."""

    model: OLMo
    tokenizer_: Tokenizer
    run_dir: Path
    step: int = 0
    tokens_seen: int = 0
    max_steps: int = 5
    rank: int = 0
    world_size: int = 1
    saved: list[Path] = field(default_factory=list)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def tokenizer(self) -> Tokenizer:
        return self.tokenizer_

    def save_checkpoint(self) -> Path:
        self.saved.append(self.run_dir / f"step{self.step:06d}")
        return self.saved[-1]

    def fit(self, callbacks: list[Callback]) -> list[dict[str, Any]]:
        ids = torch.tensor([self.tokenizer.encode("The quick brown fox jumps over the lazy dog.")])
        history = []
        self.model.train()
        for callback in callbacks:
            callback.on_fit_start(self)
        while self.step < self.max_steps:
            logits = self.model(ids[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits[0], ids[0, 1:])
            self.model.zero_grad()
            loss.backward()
            with torch.no_grad():  # plain SGD (torch.optim's first step imports the compiler: seconds)
                for parameter in self.model.parameters():
                    parameter -= 0.5 * parameter.grad
            self.step += 1
            metrics: dict[str, Any] = {"step": self.step, "loss": float(loss.detach())}
            for callback in sorted(callbacks, key=lambda c: c.order):
                callback.on_step_end(self, metrics)
            history.append(metrics)
            assert self.model.training
        return history


def test_downstream_and_perplexity_every_n_steps(model: OLMo, tokenizer: Tokenizer, tmp_path: Path) -> None:
    dataset = tmp_path / "docs.jsonl"
    dataset.write_text("".join(json.dumps({"id": r["id"], "text": str(r["text"])[:400], "source": r["source"]}) + "\n"
                               for r in stdlib_documents()[:4]))
    trained = OLMo(model.config)
    trained.load_state_dict(model.state_dict())
    registry = get_host().registry("callbacks")
    _, downstream = registry.resolve("downstream_eval")
    downstream.interval, downstream.tasks, downstream.limit = 2, ["copa", "piqa"], 3
    _, perplexity = registry.resolve("perplexity_eval")
    perplexity.interval, perplexity.input, perplexity.window = 4, str(dataset), 64
    callbacks = [registry.build(downstream), registry.build(perplexity)]
    history = Trainer(trained, tokenizer, tmp_path).fit(callbacks)

    assert ["eval/copa/acc" in m for m in history] == [False, True, False, True, True]
    assert ["eval/ppl/bits_per_byte" in m for m in history] == [False, False, False, True, True]
    assert {"eval/piqa/acc_per_token", "eval/piqa/acc_raw", "eval/downstream_seconds"} <= set(history[1])
    assert history[3]["eval/piqa/acc"] == history[3]["eval/piqa/acc_per_token"]

    trained.eval()  # the last step's numbers, recomputed outside the loop
    tasks = [get_host().registry("tasks").build(n) for n in ("copa", "piqa")]
    direct = DownstreamEvaluator(DownstreamEvalConfig(limit=3, unconditional=False)).evaluate(trained, tokenizer, tasks)
    for result in direct:
        for name, value in result.metrics.items():
            assert history[-1][f"eval/{result.task}/{name}"] == value
    documents = list(read_eval_documents(str(dataset), sets={}))
    ppl = PerplexityEvaluator(PerplexityEvalConfig(window=64)).evaluate(trained, tokenizer, documents)
    assert history[-1]["eval/ppl/python-docs/bits_per_byte"] == pytest.approx(ppl.bits_per_byte, abs=1e-9)
    assert history[-1]["eval/ppl/bits_per_byte"] == pytest.approx(ppl.sources["python-docs"]["bits_per_byte"])


def test_in_loop_evaluation_through_olmo_train(tokens: Path, tmp_path: Path) -> None:
    """The callback selected by name on a real ``olmo train`` run: its metrics land in metrics.jsonl at its
    interval and at the last step, equal to an offline evaluation of the checkpoint of that step."""
    from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator
    from olmo_eval.sources import build_tasks
    from olmo_core.model_io import load_model
    from olmo_train.trainer import Trainer

    from tests.train.conftest import config

    trainer = Trainer(config(tokens, tmp_path, "in-loop", max_steps=3, **{
        "callbacks": "[downstream_eval,metrics,checkpoint]", "callbacks.checkpoint.interval": 1,
        "callbacks.downstream_eval.interval": 2, "callbacks.downstream_eval.tasks": "[copa]",
        "callbacks.downstream_eval.limit": 6}))
    trainer.fit()
    rows = [json.loads(line) for line in (tmp_path / "in-loop" / "metrics.jsonl").read_text().splitlines()]
    measured = {r["step"]: {k: v for k, v in r.items() if k.startswith("eval/")} for r in rows}
    assert not measured[1] and measured[2] and measured[3]
    loaded = load_model(tmp_path / "in-loop" / "checkpoints" / "step000003")
    offline = DownstreamEvaluator(DownstreamEvalConfig(limit=6, unconditional=False)).evaluate(loaded.model.eval(), loaded.tokenizer,
                                                                          build_tasks(["copa"]))
    assert measured[3]["eval/copa/acc"] == offline[0].accuracy
