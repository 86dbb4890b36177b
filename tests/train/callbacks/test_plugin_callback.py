"""A third party's callback, registered through the hook, runs in the loop and keeps its state across resume."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_core.callbacks import Callback, TrainerView
from olmo_core.plugins import hookimpl

from tests.train.conftest import config, make_trainer


@dataclass(kw_only=True)
class TokenCounterConfig:
    every: int = 1


class TokenCounter(Callback):
    order = 50  # before the metrics file is written

    def __init__(self, config: TokenCounterConfig) -> None:
        self.config = config
        self.labelled = 0.0
        self.calls: list[str] = []

    def on_fit_start(self, trainer: TrainerView) -> None:
        self.calls.append(f"start@{trainer.step}")

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        self.labelled += metrics["tokens"]
        metrics["probe/tokens"] = self.labelled

    def on_fit_end(self, trainer: TrainerView) -> None:
        self.calls.append(f"end@{trainer.step}")

    def state_dict(self) -> dict[str, Any]:
        return {"labelled": self.labelled}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.labelled = state["labelled"]


class Plugin:
    @staticmethod
    @hookimpl
    def olmo_register_callbacks(register: Any) -> None:
        register("token_counter", TokenCounter, config=TokenCounterConfig)


def test_a_plugin_callback_logs_and_resumes(tokens: Path, tmp_path: Path, register_plugin: Any) -> None:
    register_plugin(Plugin, "probe")
    selected = {"callbacks": "[token_counter,metrics,checkpoint]", "callbacks.checkpoint.interval": 2}
    first = make_trainer(config(tokens, tmp_path, "probe", max_steps=3, **selected))
    first.fit()
    assert first.callbacks["token_counter"].calls == ["start@0", "end@3"]
    again = make_trainer(config(tokens, tmp_path, "probe", max_steps=5, **selected))  # resumes from step 3
    assert again.step == 3 and again.callbacks["token_counter"].labelled == 3 * 256
    again.fit()
    rows = [json.loads(line) for line in (tmp_path / "probe" / "metrics.jsonl").read_text().splitlines()]
    assert [r["probe/tokens"] for r in rows] == [256 * s for s in range(1, 6)]
    assert list(again.callbacks) == ["token_counter", "metrics", "checkpoint"]  # ordered by `order`


class Boom(Callback):
    """Raises in on_step_end at step 2; records what on_error and close saw."""

    def __init__(self, config: TokenCounterConfig) -> None:
        self.config = config
        self.seen: list[str] = []

    def on_step_end(self, trainer: TrainerView, metrics: dict[str, Any]) -> None:
        if metrics["step"] == 2:
            raise RuntimeError("callback boom")

    def on_error(self, trainer: TrainerView, exc: BaseException) -> None:
        self.seen.append(f"on_error {exc!r}")

    def close(self, trainer: TrainerView) -> None:
        self.seen.append("close")


class BoomPlugin:
    @staticmethod
    @hookimpl
    def olmo_register_callbacks(register: Any) -> None:
        register("boom", Boom, config=TokenCounterConfig)


def test_a_failing_callback_is_named_in_the_error(tokens: Path, tmp_path: Path, register_plugin: Any) -> None:
    """The error names the callback, its hook and the plugin that registered it; the callback's own exception stays
    chained, on_error still sees it and close still runs."""
    import pytest

    from olmo_train.trainer import CallbackError

    register_plugin(BoomPlugin, "boom-plugin")
    trainer = make_trainer(config(tokens, tmp_path, "boom", max_steps=3, callbacks="[boom,metrics]"))
    with pytest.raises(CallbackError) as raised:
        trainer.fit()
    message = str(raised.value)
    assert "callback 'boom'" in message and "plugin 'boom-plugin'" in message, message
    assert message.endswith("failed in on_step_end: RuntimeError: callback boom"), message
    assert isinstance(raised.value.__cause__, RuntimeError) and raised.value.__cause__ is raised.value.original
    assert trainer.callbacks["boom"].seen == ["on_error RuntimeError('callback boom')", "close"]
    assert trainer.step == 2
