"""A single run composes its config once and runs as ``hydra.main`` would run it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from hydra._internal.hydra import Hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from olmo_core.cli import runner
from olmo_core.errors import ConfigError
from olmo_core.plugins import get_host


def _plugins() -> Any:
    return get_host().registry("commands").get("plugins")


def _what_the_job_sees(monkeypatch: pytest.MonkeyPatch, overrides: list[str], *, through_hydra_main: bool) -> Any:
    """The composed config, Hydra's config and ``sys.argv`` as the job of ``olmo plugins`` finds them."""
    seen: list[Any] = []

    def record(component: Any, cfg: DictConfig) -> None:
        seen.append((OmegaConf.to_yaml(cfg), OmegaConf.to_container(HydraConfig.get()), list(sys.argv)))

    monkeypatch.setattr(runner, "to_command_config", record)
    if through_hydra_main:  # the path of sweeps, Hydra's flags and overrides of Hydra's own keys
        monkeypatch.setattr(runner, "_overrides_hydra", lambda overrides: True)
    runner.run_command(_plugins(), overrides)
    monkeypatch.undo()
    (job,) = seen
    return job


def test_a_single_run_composes_its_config_once(monkeypatch: pytest.MonkeyPatch) -> None:
    compositions = []
    compose = Hydra.compose_config

    def counted(self: Hydra, *args: Any, **kwargs: Any) -> DictConfig:
        compositions.append(args)
        return compose(self, *args, **kwargs)

    monkeypatch.setattr(Hydra, "compose_config", counted)
    monkeypatch.setattr(runner, "to_command_config", lambda component, cfg: None)
    runner.run_command(_plugins(), ["json=true"])
    assert len(compositions) == 1


def test_a_single_run_sees_what_hydra_main_would_show_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The job's config, Hydra's config (its overrides, mode, search path...) and ``sys.argv``."""
    overrides = ["json=true", "output=out.json"]
    once = _what_the_job_sees(monkeypatch, overrides, through_hydra_main=False)
    assert once == _what_the_job_sees(monkeypatch, overrides, through_hydra_main=True)
    assert once[1]["mode"] == RunMode.RUN and once[1]["overrides"]["task"] == overrides


def test_a_single_run_reports_a_bad_key_as_validation_does() -> None:
    with pytest.raises(ConfigError, match="unknown config key 'jsno' for `olmo plugins`"):
        runner.run_command(_plugins(), ["jsno=true"])


def test_cfg_job_with_a_config_directory_shows_what_the_run_builds(olmo_cli: Any, tmp_path: Path) -> None:
    """With ``--config-dir`` (and ``--config-name``) Hydra composes the config, and ``--cfg job`` still prints what the
    run builds: the options of a list that nobody selected (the evaluate callback's defaults) are left out."""
    (tmp_path / "exp.yaml").write_text("defaults:\n  - olmo_train\n  - _self_\nmax_steps: 7\n")
    plain = olmo_cli("train", "max_steps=7", "--cfg", "job")
    assert plain.exit_code == 0, plain.err
    assert "max_steps: 7\n" in plain.out and "  checkpoint:\n" in plain.out and "evaluate:" not in plain.out
    for flags in (["--config-dir", str(tmp_path), "--config-name", "exp"], ["-cd", str(tmp_path), "max_steps=7"],
                  ["--config-dir", str(tmp_path), "--config-name", "exp", "--resolve"]):
        shown = olmo_cli("train", *flags, "--cfg", "job")
        assert (shown.exit_code, shown.out) == (0, plain.out), (flags, shown.err)
    chosen = olmo_cli("train", "+callbacks=[evaluate]", "--cfg", "job", "-p", "callbacks")
    from_file = olmo_cli("train", "-cd", str(tmp_path), "-cn", "exp", "+callbacks=[evaluate]", "--cfg", "job",
                         "-p", "callbacks")
    assert "  _name_: evaluate\n" in chosen.out and (from_file.exit_code, from_file.out) == (0, chosen.out)
    missing = olmo_cli("train", "--config-dir", str(tmp_path), "--config-name", "exq", "--cfg", "job")
    assert missing.exit_code != 0 and "Cannot find primary config 'exq'" in missing.err
    nowhere = olmo_cli("train", "--config-dir", str(tmp_path / "nowhere"), "--cfg", "job")
    assert nowhere.exit_code != 0 and "nowhere: no such directory" in nowhere.err
