from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from olmo_core import components, hookimpl
from olmo_core.errors import ConfigError
from olmo_core.pipeline.stage import StageContext


@dataclass(kw_only=True)
class CountConfig:
    words: int = 3
    fail: bool = False


class CountStage:
    """Writes a file of its own and reads an earlier stage's result."""

    runs: list[str] = []

    def __init__(self, config: CountConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        CountStage.runs.append(context.name)
        if self.config.fail:
            raise RuntimeError(f"{context.name} failed on purpose")
        before = sum(r["words"] for r in context.results.values())
        (context.stage_dir / "words.txt").write_text("word " * self.config.words)
        return {"words": self.config.words, "total": before + self.config.words}


class StagesPlugin:
    @hookimpl
    def olmo_register_stages(self, register: Any) -> None:
        register("count", CountStage, config=CountConfig, presets={"more": CountConfig(words=5)})


@pytest.fixture
def stages(register_plugin: Any) -> list[str]:
    register_plugin(StagesPlugin(), "stages-plugin")
    CountStage.runs = []
    return CountStage.runs


def test_stages_run_in_order_and_resume(stages: list[str], olmo_cli: Any, tmp_path: Path) -> None:
    args = ("pipeline", "name=t", f"runs_dir={tmp_path}", "stages=[count,more,report]")
    assert olmo_cli(*args).exit_code == 0
    assert stages == ["count", "more"]
    run = tmp_path / "t"
    done = json.loads((run / "stages" / "01-more" / "done.json").read_text())
    assert done["result"] == {"words": 5, "total": 8}
    assert (run / "stages" / "00-count" / "words.txt").read_text() == "word " * 3
    report = (run / "report.md").read_text()
    assert "| more | words: 5; total: 8 |" in report and "olmo pipeline name=t" in report
    assert json.loads((run / "config.json").read_text())["stages"]["more"]["_name_"] == "count"

    second = olmo_cli(*args)
    assert second.exit_code == 0 and stages == ["count", "more"]
    assert "1 stages ran, 2 reused" in second.out  # the report is always written again

    assert olmo_cli(*args, "stages.more.words=7").exit_code == 0
    assert stages == ["count", "more", "more"]
    assert json.loads((run / "stages" / "01-more" / "done.json").read_text())["result"]["total"] == 10


def test_failed_stage_is_where_the_next_run_starts(stages: list[str], olmo_cli: Any, tmp_path: Path) -> None:
    args = ("pipeline", "name=f", f"runs_dir={tmp_path}", "stages=[count,more]")
    failed = olmo_cli(*args, "stages.more.fail=true")
    assert failed.exit_code == 1 and "more failed on purpose" in failed.err
    assert not (tmp_path / "f" / "stages" / "01-more" / "done.json").exists()
    assert olmo_cli(*args).exit_code == 0
    assert stages == ["count", "more", "more"]


def test_sweep_gives_each_job_its_run_directory(stages: list[str], olmo_cli: Any, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert olmo_cli("pipeline", "name=s", f"runs_dir={tmp_path}", "stages=[count]", "-m",
                    "stages.count.words=1,2").exit_code == 0
    jobs = sorted(p.name for p in (tmp_path / "s").iterdir() if p.is_dir())
    assert jobs == ["0-stages.count.words=1", "1-stages.count.words=2"]
    assert [json.loads((tmp_path / "s" / j / "stages" / "00-count" / "done.json").read_text())["result"]["words"]
            for j in jobs] == [1, 2]


@dataclass(kw_only=True)
class NeedsGhost:
    stages: Any = components("stages", default=["report", "ghost"], providers={"ghost": "olmo-ghost-stages"})


def test_missing_default_names_the_package_to_install(register_plugin: Any, olmo_cli: Any) -> None:
    class Ghostly:
        @hookimpl
        def olmo_register_commands(self, register: Any) -> None:
            register("haunt", lambda config: None, config=NeedsGhost)

    register_plugin(Ghostly(), "ghostly")
    result = olmo_cli("haunt")
    assert result.exit_code == 2
    assert result.err == ("error: `olmo haunt` uses the stage 'ghost' by default, which no installed plugin registers: "
                          "install olmo-ghost-stages (`uv pip install olmo-ghost-stages`), or choose others with "
                          "stages=...\n")
    assert olmo_cli("haunt", "stages=[report]").exit_code == 0


def test_unknown_result_is_a_clear_error(tmp_path: Path) -> None:
    context = StageContext(run_dir=tmp_path, stage_dir=tmp_path, name="train", seed=0, results={"fetch": {"n": 1}})
    assert context.result("fetch", "n") == 1
    with pytest.raises(ConfigError, match="stage 'train' needs the result of stage 'tokenize', which did not run"):
        context.result("tokenize", "path")


def test_a_stage_that_runs_again_reruns_every_later_stage(stages: list[str], olmo_cli: Any, tmp_path: Path) -> None:
    import shutil

    args = ("pipeline", "name=r", f"runs_dir={tmp_path}", "stages=[count,more]")
    assert olmo_cli(*args).exit_code == 0
    shutil.rmtree(tmp_path / "r" / "stages" / "00-count")
    assert olmo_cli(*args).exit_code == 0
    assert stages == ["count", "more", "count", "more"]


def test_a_sweep_writes_a_comparison_of_its_runs(stages: list[str], olmo_cli: Any, tmp_path: Path) -> None:
    result = olmo_cli("pipeline", "-m", "name=sweep", f"runs_dir={tmp_path}", "stages=[count]",
                      "stages.count.words=2,7")
    assert result.exit_code == 0, result.err
    sweep = tmp_path / "sweep"
    jobs = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert jobs == ["0-stages.count.words=2", "1-stages.count.words=7"]
    table = (sweep / "comparison.md").read_text()
    assert "| run | count.words | count.total |" in table
    assert "| 0-stages.count.words=2 | 2 | 2 |" in table and "| 1-stages.count.words=7 | 7 | 7 |" in table
