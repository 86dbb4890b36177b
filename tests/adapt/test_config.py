"""Method options are checked when the config is built: before a command makes its run directory, and before
a pipeline's first stage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from olmo_core.errors import ConfigError


@pytest.mark.parametrize(("override", "error"), [
    ("stages.sft.method.overlong=foo", "method.overlong must be skip or truncate, not 'foo'"),
    ("stages.dpo.method.loss=sigmoid", "method.loss must be one of dpo, dpo_norm, ipo, not 'sigmoid'"),
])
def test_a_pipeline_refuses_a_bad_method_option_before_its_first_stage(olmo_compose: Any, override: str,
                                                                       error: str) -> None:
    with pytest.raises(ConfigError) as raised:
        olmo_compose("pipeline", ["stages=[sft,dpo]", "inputs.sft.checkpoint=/nonexistent-base", override])
    assert str(raised.value) == error


def test_the_sft_command_refuses_a_bad_option_before_making_its_run_directory(olmo_cli: Any, tmp_path: Path) -> None:
    result = olmo_cli("adapt", "sft", f"checkpoint={tmp_path / 'base'}", f"output={tmp_path / 'sft'}",
                      "method.overlong=foo")
    assert result.exit_code == 2
    assert "method.overlong must be skip or truncate, not 'foo'" in result.err
    assert not (tmp_path / "sft").exists()


def test_a_pipeline_refuses_another_method_in_an_sft_stage_before_its_first_stage(olmo_compose: Any) -> None:
    from olmo_core.pipeline.runner import plan_stages

    with pytest.raises(ConfigError) as raised:
        olmo_compose("pipeline", ["stages=[sft,dpo]", "inputs.sft.checkpoint=/nonexistent-base",
                                  "stages.sft.method=dpo"])
    assert str(raised.value) == ("`olmo adapt sft` (and a pipeline's sft stage) runs sft or its presets, not 'dpo': "
                                 "use `olmo adapt dpo` (in a pipeline, a `dpo` stage)")
    presets = olmo_compose("pipeline", ["stages=[sft,dpo]", "inputs.sft.checkpoint=/nonexistent-base",
                                        "stages.sft.method=sft-olmo-7b", "stages.dpo.method=dpo-tulu3"])
    with pytest.raises(ConfigError, match="^inputs.sft.checkpoint: /nonexistent-base does not exist$"):
        plan_stages(presets.stages, presets.inputs)


def test_the_docs_list_every_shared_option_and_what_a_rerun_may_change() -> None:
    """docs/adaptation.md names every option MethodSettings shares (max_examples was missing) and, as the options a
    rerun may change, exactly the resumable ones (it said that the same data and settings were checked, when only
    a few of them were)."""
    import dataclasses
    import re

    from olmo_adapt.dpo.config import DPOConfig
    from olmo_adapt.method import MethodSettings
    from olmo_adapt.runner import resumable

    docs = " ".join((Path(__file__).parents[2] / "docs" / "adaptation.md").read_text().split())
    shared = docs.split("Shared by all methods (`method.<option>=...`): ")[1].split(". The optimizer")[0]
    assert {f.name for f in dataclasses.fields(MethodSettings)} <= set(re.findall(r"`(\w+)`", shared))
    rerun = docs.split("A rerun may change only how long the run trains and how it runs (")[1].split(")")[0]
    assert re.findall(r"`([\w.]+)`", rerun) == list(resumable(DPOConfig()))
