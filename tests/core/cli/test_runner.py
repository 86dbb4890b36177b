"""A single run composes its config once and runs as ``hydra.main`` would run it."""

from __future__ import annotations

import json
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
                  ["--config-dir", str(tmp_path), "--config-name", "exp", "--resolve"],
                  [f"--config-dir={tmp_path}", "--config-name=exp"]):
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


def test_a_sweep_whose_job_fails_its_check_is_refused_before_any_job_runs(dataset: Path, tmp_path: Path,
                                                                          olmo_cli: Any) -> None:
    """The third job's rule does not parse: the first two do not run for nothing first."""
    out = tmp_path / "out"
    result = olmo_cli("data", "filter", f"input={dataset}", f"output={out}", "-m",
                      "exclude=['length < 100'],['length < 1000'],['length <']", f"hydra.sweep.dir={tmp_path / 'm'}")
    assert result.exit_code != 0
    assert result.err.splitlines()[-1] == (
        "error: 1 of 3 sweep jobs of `olmo data filter` failed their check, so none ran: exclude=['length <']: "
        "cannot parse filter expression 'length <': invalid syntax")
    assert not out.exists() and not (tmp_path / "m").exists()


def test_a_sweep_runs_each_job_with_what_its_check_built(tmp_path: Path, olmo_cli: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A mix's check measures the input's sources, and its run mixes with those sizes: every job is checked before
    the first runs, and runs on what its own check measured, measured once."""
    from olmo_data.commands import mix

    from tests.conftest import two_source_dataset

    two_source_dataset(tmp_path / "ds")
    events: list[str] = []

    def measure(config: Any, files: list[str]) -> Any:
        events.append("measure")
        return measured(config, files)

    def mixing(config: Any, input: str, output: str, sizes: Any = None, **kwargs: Any) -> Any:
        events.append("mix" if sizes is not None else "mix, measuring again")
        return mixed(config, input, output, sizes, **kwargs)

    measured, mixed = mix._measure_sources, mix.mix
    monkeypatch.setattr(mix, "_measure_sources", measure)
    monkeypatch.setattr(mix, "mix", mixing)
    result = olmo_cli("data", "mix", f"input={tmp_path / 'ds'}", f"output={tmp_path / 'out'}", "-m",
                      "mixer.factors.python-docs=1.5,0.5", f"hydra.sweep.dir={tmp_path / 'm'}")
    assert result.exit_code == 0, result.err
    assert events == ["measure", "measure", "mix", "mix"]
    written = {json.loads((tmp_path / "out" / f"mixer.factors.python-docs={f}" / "result.json").read_text())[
        "metrics"]["documents_out"] for f in ("1.5", "0.5")}
    assert written == {18, 6}  # 12 documents, each 1.5 or 0.5 times
    (tmp_path / "conf").mkdir()  # an experiment file: its jobs are checked as Hydra composes them
    (tmp_path / "conf" / "exp.yaml").write_text(f"defaults:\n  - olmo_data_mix\n  - _self_\ninput: {tmp_path / 'ds'}\n")
    events.clear()
    result = olmo_cli("data", "mix", "--config-dir", str(tmp_path / "conf"), "--config-name", "exp",
                      f"output={tmp_path / 'again'}", "-m", "mixer.factors.python-docs=1.5,0.5",
                      f"hydra.sweep.dir={tmp_path / 'm'}")
    assert result.exit_code == 0, result.err
    assert events == ["measure", "measure", "mix", "mix"]


def test_a_sweep_names_its_jobs_by_the_keys_the_user_typed(tmp_path: Path, olmo_cli: Any) -> None:
    """A component list's key (``taggers``) names the jobs as typed, not as the group path Hydra gets
    (``olmo/data/taggers@taggers``): in their directories, their log lines and the comparison; a list's commas stay."""
    from tests.conftest import two_source_dataset

    two_source_dataset(tmp_path / "ds")
    out = tmp_path / "out"
    result = olmo_cli("data", "tag", f"input={tmp_path / 'ds'}", f"output={out}", "-m",
                      "taggers=[pii],[gopher_quality,pii]", f"hydra.sweep.dir={tmp_path / 'm'}")
    assert result.exit_code == 0, result.err
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["taggers=_gopher_quality,pii_", "taggers=_pii_"]
    assert "[sweep job 0] olmo data tag taggers=[pii]\n" in result.err
    assert "[sweep job 1] olmo data tag taggers=[gopher_quality,pii]\n" in result.err
    table = (out / "comparison.md").read_text()
    assert "| taggers=_pii_ | [pii] |" in table and "| taggers=_gopher_quality,pii_ | [gopher_quality,pii] |" in table
    assert "olmo" not in table.replace("# Sweep", "")
