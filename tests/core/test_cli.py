from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from olmo_core import hookimpl
from olmo_core.errors import OlmoError

OLMO = str(Path(sys.executable).parent / "olmo")


def run_olmo(*args: str, env: dict[str, str] | None = None,
             cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    full_env.pop("OLMO_FULL_ERROR", None) if "OLMO_FULL_ERROR" not in (env or {}) else None
    return subprocess.run([OLMO, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120)


@dataclass(kw_only=True)
class CountConfig:
    n: int = 1
    fail_on: int = -1


class Recorder:
    """A plugin with a command that records each call, so that sweeps can be counted."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def count(self, config: CountConfig) -> int:
        """Record n."""
        if config.n == config.fail_on:
            raise OlmoError(f"n={config.n} is not allowed")
        self.calls.append(config.n)
        return config.n * 10

    @hookimpl
    def olmo_register_commands(self, register: Any) -> None:
        register("count", self.count, config=CountConfig)


def test_main_help_lists_commands(olmo_cli: Any) -> None:
    result = olmo_cli("--help")
    assert result.exit_code == 0
    assert "usage: olmo <command>" in result.out
    assert "  plugins " in result.out and "  data tag " in result.out


def test_plugins_json_lists_first_party_plugins_with_versions(olmo_cli: Any) -> None:
    result = olmo_cli("plugins", "--json")
    assert result.exit_code == 0, result.err
    plugins = {p["name"]: p for p in json.loads(result.out)["plugins"]}
    for name in ("core", "data", "train", "eval", "adapt"):
        assert plugins[name]["version"] == importlib.metadata.version(f"olmo-{name}")
        assert plugins[name]["distribution"] == f"olmo-{name}"


def test_plugins_writes_json_file(olmo_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "run" / "plugins.json"
    assert olmo_cli("plugins", f"output={out}").exit_code == 0
    assert {p["name"] for p in json.loads(out.read_text())["plugins"]} >= {"core", "data"}


def test_group_help(olmo_cli: Any) -> None:
    result = olmo_cli("data")
    assert result.exit_code == 0 and "data tag" in result.out


def test_command_help_shows_components_and_config(olmo_cli: Any) -> None:
    result = olmo_cli("data", "tag", "--help")
    assert result.exit_code == 0
    assert "taggers=[a,b]" in result.out and "input: ???" in result.out


def test_sweep_runs_every_point(olmo_cli: Any, register_plugin: Any) -> None:
    recorder = Recorder()
    register_plugin(recorder, "recorder")
    from olmo_core.cli import invoke

    assert invoke(["count", "-m", "n=1,2,3"]) == [10, 20, 30]
    assert recorder.calls == [1, 2, 3]
    assert invoke(["count", "n=7"]) == [70]


def test_failing_sweep_job_is_reported_and_the_sweep_goes_on(olmo_cli: Any, register_plugin: Any,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    recorder = Recorder()
    register_plugin(recorder, "recorder")
    result = olmo_cli("count", "-m", "n=1,2,3", "fail_on=2")
    assert result.exit_code == 1
    assert recorder.calls == [1, 3]
    assert result.err.strip().splitlines()[-1] == ("error: 1 of 3 sweep jobs of `olmo count` failed: "
                                                  "n=2: n=2 is not allowed")


def test_flag_for_a_non_boolean_needs_a_value(olmo_cli: Any, register_plugin: Any) -> None:
    register_plugin(Recorder(), "recorder")
    result = olmo_cli("count", "--n")
    assert result.exit_code == 2
    assert result.err == "error: option '--n' of `olmo count` needs a value: --n=... or n=...\n"
    assert olmo_cli("count", "--n=4").exit_code == 0


@pytest.mark.parametrize(("args", "message"), [
    (["frobnicate"], "error: unknown command 'frobnicate'; see `olmo --help`"),
    (["trian"], "error: unknown command 'trian' (did you mean 'train'?); see `olmo --help`"),
    (["plugnis"], "error: unknown command 'plugnis' (did you mean 'plugins'?); see `olmo --help`"),
    (["data", "tga"], "error: unknown command 'data tga' (did you mean 'data tag'?); see `olmo --help`"),
    (["plugins", "jsno=true"], "error: unknown config key 'jsno' for `olmo plugins` (did you mean 'json'?); "
                               "valid keys: json, output"),
    (["plugins", "json=perhaps"], "error: invalid value in override 'json=perhaps': Value 'perhaps' is not a "
                                  "valid bool (type str)"),
    (["plugins", "stray"], "error: unexpected argument 'stray' for `olmo plugins`: arguments are overrides like "
                           "key=value (see `olmo plugins --help`)"),
])
def test_user_errors_are_one_line(args: list[str], message: str) -> None:
    result = run_olmo(*args)
    assert result.returncode == 2
    assert result.stderr == message + "\n"
    assert result.stdout == ""


def test_unknown_component_is_one_line_with_a_suggestion() -> None:
    result = run_olmo("data", "tag", "input=x", "taggers=[langauge]")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: unknown tagger 'langauge' (did you mean 'language'?); available: ")
    assert result.stderr.count("\n") == 1 and result.stderr.endswith(" (see `olmo plugins`)\n")


def test_missing_required_value_is_named(dataset: Path) -> None:
    result = run_olmo("data", "tag", "taggers=[]")
    assert (result.returncode, result.stderr) == (2, "error: `olmo data tag` needs a value for 'input': add "
                                                     "input=<dataset dir>\n")


def test_plugin_import_failure_is_one_line_and_full_error_shows_traceback() -> None:
    result = run_olmo("tokenizer", "train", env={"OLMO_PLUGINS": "olmo_no_such_plugin"})
    assert result.returncode == 1
    assert result.stderr == ("error: plugin module 'olmo_no_such_plugin' named in OLMO_PLUGINS failed to import: "
                             "ModuleNotFoundError: No module named 'olmo_no_such_plugin'; remove it from "
                             "OLMO_PLUGINS\n")
    full = run_olmo("tokenizer", "train", env={"OLMO_PLUGINS": "olmo_no_such_plugin", "OLMO_FULL_ERROR": "1"})
    assert full.returncode == 1
    assert "Traceback (most recent call last)" in full.stderr and "ModuleNotFoundError" in full.stderr


def test_misspelled_hook_from_a_module_on_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "typo_hooks.py").write_text(
        "from olmo_core import hookimpl\n\n@hookimpl\ndef olmo_register_comands(register):\n    pass\n")
    result = run_olmo("tokenizer", "train", env={"OLMO_PLUGINS": "typo_hooks", "PYTHONPATH": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr == ("error: plugin 'typo_hooks' (from OLMO_PLUGINS) implements unknown hook "
                             "'olmo_register_comands' (did you mean 'olmo_register_commands'?); remove it from "
                             "OLMO_PLUGINS\n")


def test_cfg_job_prints_the_composed_config_without_running() -> None:
    result = run_olmo("plugins", "json=true", "--cfg", "job")
    assert result.returncode == 0
    assert result.stdout.strip() == "json: true\noutput: null"


def test_cfg_job_shows_only_the_selected_options_of_a_list(olmo_cli: Any) -> None:
    """A list's options that nobody selected (the evaluate callback's defaults) are dropped by the run, so
    ``--cfg job`` leaves them out too; selected, they show, and ``--package`` shows one node."""
    plain = olmo_cli("train", "--cfg", "job")
    assert plain.exit_code == 0, plain.err
    assert "  checkpoint:\n" in plain.out and "evaluate:" not in plain.out and "evaluators:" not in plain.out
    chosen = olmo_cli("train", "+callbacks=[evaluate]", "--cfg", "job", "--package", "callbacks.evaluate")
    assert chosen.exit_code == 0, chosen.err
    assert chosen.out.startswith("# @package callbacks.evaluate\nevaluators:\n  downstream:\n")
    assert "_name_: evaluate" in chosen.out
    missing = olmo_cli("train", "--cfg", "job", "-p", "callbacks.evaluate")
    assert missing.exit_code != 0 and "--package callbacks.evaluate: no such key" in missing.err


def test_an_option_of_a_list_s_component_that_the_list_does_not_select_is_refused(olmo_cli: Any) -> None:
    """The run drops the unselected component, so its option (misspelled or not) would be ignored without a word."""
    for key in ("callbacks.evaluate.intervl=5", "callbacks.checkpoint.interval=5"):
        result = olmo_cli("train", "callbacks=[metrics]", key, "--cfg", "job")
        name = key.split(".")[1]
        assert (result.exit_code, result.err) == (2, f"error: {key.partition('=')[0]} sets an option of '{name}', "
                                                     f"which callbacks does not select (it holds: metrics): add it "
                                                     f"(+callbacks=[{name}]) or leave the option out\n")
    chosen = olmo_cli("train", "+callbacks=[evaluate]", "callbacks.evaluate.interval=5", "--cfg", "job")
    assert chosen.exit_code == 0 and "    interval: 5\n" in chosen.out


def test_module_entry_point_and_version() -> None:
    result = subprocess.run([sys.executable, "-m", "olmo_core", "--version"], capture_output=True, text=True)
    assert result.stdout == f"olmo {importlib.metadata.version('olmo-core')}\n"


def test_an_experiment_in_a_config_directory_composes(olmo_cli: Any) -> None:
    """The repository's configs/ holds experiments that Hydra's --config-dir/--config-name reach."""
    configs = Path(__file__).resolve().parents[2] / "configs"
    result = olmo_cli("pipeline", "--config-dir", str(configs), "--config-name", "small-smoke", "--cfg", "job",
                      "stages.pretrain.seq_len=32")
    assert result.exit_code == 0, result.err
    assert "name: small-smoke" in result.out and "max_steps: 4" in result.out and "seq_len: 32" in result.out
    assert "d_model: 256" in result.out and "n_layers: 10" in result.out  # olmo-small, selected in the YAML
    # Hydra's own flags end with status 0; in a process of its own, since --info configures logging handlers
    info = subprocess.run([sys.executable, "-m", "olmo_core", "plugins", "--info"], capture_output=True, text=True,
                          timeout=120)
    assert info.returncode == 0 and "Config search path" in info.stdout, info.stderr[-2000:]
