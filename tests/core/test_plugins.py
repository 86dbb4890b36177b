from __future__ import annotations

import importlib.metadata
import textwrap
from pathlib import Path
from typing import Any

import pytest

from olmo_core import hookimpl
from olmo_core.errors import PluginError
from olmo_core.plugins import PluginHost

FIRST_PARTY = {"core": "olmo-core", "data": "olmo-data", "train": "olmo-train", "eval": "olmo-eval",
               "adapt": "olmo-adapt"}


class FakeDistribution:
    def __init__(self, name: str, version: str, entry_points: dict[str, str]) -> None:
        self.metadata = {"Name": name}
        self.version = version
        self.entry_points = [importlib.metadata.EntryPoint(k, v, "olmo") for k, v in entry_points.items()]


@pytest.fixture
def plugin_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Write plugin modules into an importable directory: ``plugin_modules(name=source, ...)``."""
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(**modules: str) -> None:
        for name, source in modules.items():
            (tmp_path / f"{name}.py").write_text("from olmo_core import hookimpl\n" + textwrap.dedent(source))

    return write


@pytest.fixture
def only(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make the given fake distributions the only installed ones."""

    def install(*dists: FakeDistribution) -> None:
        monkeypatch.setattr(importlib.metadata, "distributions", lambda: iter(dists))

    return install


GOOD = """
@hookimpl
def olmo_register_taggers(register):
    register("shouty", lambda: None)
"""


def test_installed_first_party_plugins_load_with_versions() -> None:
    host = PluginHost()
    for name, dist in FIRST_PARTY.items():
        info = host.plugins[name]
        assert (info.distribution, info.version) == (dist, importlib.metadata.version(dist))
        assert info.module == f"olmo_{name}.plugin"


def test_entry_point_plugin_is_attributed_to_its_distribution(plugin_modules: Any, only: Any) -> None:
    plugin_modules(good_plugin=GOOD)
    only(FakeDistribution("olmo-shouty", "1.2.3", {"shouty": "good_plugin"}))
    host = PluginHost()
    assert list(host.plugins) == ["shouty"]
    assert host.hooks_of("shouty") == ["olmo_register_taggers"]
    component = host.registry("taggers").get("shouty")
    assert (component.plugin, component.distribution) == ("shouty", "olmo-shouty 1.2.3")


def test_plugin_that_fails_to_import_is_named(plugin_modules: Any, only: Any) -> None:
    plugin_modules(broken_plugin="raise ImportError('no module named fasttext_missing')\n")
    only(FakeDistribution("olmo-broken", "0.9", {"broken": "broken_plugin"}))
    with pytest.raises(PluginError) as info:
        PluginHost()
    assert str(info.value) == ("plugin 'broken' (olmo-broken 0.9) failed to import: ImportError: no module named "
                               "fasttext_missing; disable it with OLMO_DISABLE_PLUGINS=broken")


def test_misspelled_hook_is_named_with_a_suggestion(plugin_modules: Any, only: Any) -> None:
    plugin_modules(typo_plugin="""
        @hookimpl
        def olmo_register_tagers(register):
            pass
    """)
    only(FakeDistribution("olmo-typo", "0.1", {"typo": "typo_plugin"}))
    with pytest.raises(PluginError) as info:
        PluginHost()
    assert str(info.value) == ("plugin 'typo' (olmo-typo 0.1) implements unknown hook 'olmo_register_tagers' "
                               "(did you mean 'olmo_register_taggers'?); disable it with OLMO_DISABLE_PLUGINS=typo")


def test_hook_with_wrong_arguments_is_named(plugin_modules: Any, only: Any) -> None:
    plugin_modules(args_plugin="""
        @hookimpl
        def olmo_register_taggers(registrar):
            pass
    """)
    only(FakeDistribution("olmo-args", "0.1", {"args": "args_plugin"}))
    with pytest.raises(PluginError, match=r"plugin 'args' \(olmo-args 0.1\) does not match the hook specs.*registrar"):
        PluginHost()


def test_disable_by_plugin_or_distribution_name(plugin_modules: Any, only: Any,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_modules(broken_plugin="raise RuntimeError('boom')\n", good_plugin=GOOD)
    only(FakeDistribution("olmo-broken", "0.9", {"broken": "broken_plugin"}),
         FakeDistribution("olmo-shouty", "1.0", {"shouty": "good_plugin"}))
    monkeypatch.setenv("OLMO_DISABLE_PLUGINS", "broken")
    assert list(PluginHost().plugins) == ["shouty"]
    monkeypatch.setenv("OLMO_DISABLE_PLUGINS", "olmo-broken, olmo-shouty")
    assert list(PluginHost().plugins) == []
    monkeypatch.setenv("OLMO_DISABLE_PLUGINS", "*")
    assert list(PluginHost().plugins) == []


def test_olmo_plugins_variable_loads_modules(plugin_modules: Any, only: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    plugin_modules(local_research=GOOD)
    only()
    monkeypatch.setenv("OLMO_PLUGINS", "local_research")
    host = PluginHost()
    assert host.plugins["local_research"].source == "OLMO_PLUGINS"
    assert "shouty" in host.registry("taggers")
    monkeypatch.setenv("OLMO_PLUGINS", "no_such_module_anywhere")
    with pytest.raises(PluginError, match="plugin module 'no_such_module_anywhere' named in OLMO_PLUGINS"):
        PluginHost()


def test_two_distributions_with_one_plugin_name(plugin_modules: Any, only: Any) -> None:
    plugin_modules(good_plugin=GOOD, other_plugin=GOOD)
    only(FakeDistribution("olmo-a", "1.0", {"same": "good_plugin"}),
         FakeDistribution("olmo-b", "2.0", {"same": "other_plugin"}))
    with pytest.raises(PluginError, match=r"two plugins are named 'same': olmo-a 1.0 and olmo-b 2.0"):
        PluginHost()


def test_same_component_from_two_plugins_names_both(plugin_modules: Any, only: Any) -> None:
    plugin_modules(good_plugin=GOOD, other_plugin=GOOD)
    only(FakeDistribution("olmo-a", "1.0", {"a": "good_plugin"}),
         FakeDistribution("olmo-b", "2.0", {"b": "other_plugin"}))
    with pytest.raises(PluginError, match=r"tagger 'shouty' is registered twice: by plugin '.' \(olmo-. .\.0\) "
                                          r"and by plugin '.' \(olmo-. .\.0\)"):
        PluginHost().registry("taggers")


def test_hook_that_raises_is_named(register_plugin: Any, olmo_host: PluginHost) -> None:
    class Exploding:
        @hookimpl
        def olmo_register_models(self, register: Any) -> None:
            raise ZeroDivisionError("division by zero")

    register_plugin(Exploding(), "exploding")
    with pytest.raises(PluginError, match=r"plugin 'exploding' \(from registered\) failed in olmo_register_models: "
                                          r"ZeroDivisionError: division by zero"):
        olmo_host.registry("models")


def test_runtime_registration_is_undone(olmo_host: PluginHost) -> None:
    class Temporary:
        @hookimpl
        def olmo_register_tasks(self, register: Any) -> None:
            register("temporary", lambda: "built")

    name = olmo_host.register(Temporary(), "temporary")
    assert olmo_host.registry("tasks").build("temporary") == "built"
    olmo_host.unregister(name)
    assert "temporary" not in olmo_host.registry("tasks")


def test_describe_lists_plugins_hooks_and_components(olmo_host: PluginHost) -> None:
    info = olmo_host.describe()
    by_name = {p["name"]: p for p in info["plugins"]}
    assert set(FIRST_PARTY) <= set(by_name)
    assert "olmo_register_commands" in by_name["core"]["hooks"]
    commands = {c["name"]: c for c in info["components"]["commands"]}
    assert commands["plugins"]["config"] == "olmo_core.plugins_command.PluginsConfig"
    assert commands["data tag"]["distribution"].startswith("olmo-data ")
    assert set(info["components"]) >= {"models", "taggers", "tasks", "adapters", "jobs", "commands"}


def test_help_and_plugins_work_with_broken_plugins_and_list_them(plugin_modules: Any, only: Any,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from olmo_core.cli import main
    from olmo_core.plugins import set_host

    plugin_modules(broken_plugin="raise ImportError('no module named fasttext_missing')\n", exploding_plugin="""
        @hookimpl
        def olmo_register_commands(register):
            raise RuntimeError("boom")
    """)
    only(FakeDistribution("olmo-core", importlib.metadata.version("olmo-core"), {"core": "olmo_core.plugin"}),
         FakeDistribution("olmo-broken", "0.9", {"broken": "broken_plugin"}),
         FakeDistribution("olmo-exploding", "0.2", {"exploding": "exploding_plugin"}))
    imported = ("plugin 'broken' (olmo-broken 0.9) failed to import: ImportError: no module named fasttext_missing; "
                "disable it with OLMO_DISABLE_PLUGINS=broken")
    failed = ("plugin 'exploding' (olmo-exploding 0.2) failed in olmo_register_commands: RuntimeError: boom; "
              "disable it with OLMO_DISABLE_PLUGINS=exploding")  # how to run without it, as for a failed import
    previous = set_host(None)
    try:
        assert main(["--help"]) == 0
        out = capsys.readouterr().out
        words = " ".join(out.split())  # the table wraps long lines
        assert "\n  plugins " in out and f"broken {imported}" in words and f"exploding {failed}" in words
        assert main(["plugins"]) == 1  # listed, and the status says that something is wrong
        out, err = capsys.readouterr()
        assert ("2 broken plugins, left out (disable an installed one with OLMO_DISABLE_PLUGINS=name; leave a module "
                f"out of OLMO_PLUGINS):\n  broken: {imported}\n  exploding: {failed}\n") in out
        assert err == "error: 2 broken plugins, left out: broken, exploding (listed above with their errors)\n"
        assert main(["plugins", "--json"]) == 1
        out, err = capsys.readouterr()
        assert json.loads(out)["broken"] == [{"name": "broken", "error": imported},
                                             {"name": "exploding", "error": failed}]
        assert err == "error: 2 broken plugins, left out: broken, exploding (in its 'broken' list)\n"
        assert main(["tokenizer", "train", "input=x"]) == 1
        assert capsys.readouterr().err == f"error: {imported}\n"
    finally:
        set_host(previous)


def test_a_third_party_name_taken_by_a_built_in_leaves_that_plugin_out_whole() -> None:
    class Clashing:
        @hookimpl
        def olmo_register_taggers(self, register: Any) -> None:
            register("vowels", dict)
            register("pii", dict)  # a built-in's name

    host = PluginHost(keep_broken=True)
    host.register(Clashing(), "clashing")
    taggers = host.registry("taggers")
    assert list(host.broken) == ["clashing"] and "tagger 'pii' is registered twice" in host.broken["clashing"]
    assert "vowels" not in taggers and {"pii", "c4", "gopher_quality", "badwords"} <= set(taggers.options())
    assert taggers.get("pii").plugin == "data"


def test_a_job_whose_command_is_taken_is_a_broken_plugin_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    from olmo_core.cli.help import print_main_help
    from olmo_core.jobs import Job

    class Tagging(Job):
        command = "data tag"

    class Clashing:
        @hookimpl
        def olmo_register_jobs(self, register: Any) -> None:
            register("clash", Tagging)

    host = PluginHost(keep_broken=True)
    host.register(Clashing(), "clashing")
    assert host.registry("commands").get("data tag").plugin == "data"
    print_main_help(host)
    out = capsys.readouterr().out
    assert "broken plugins" in out and "command 'data tag' is registered twice" in out


def test_a_hook_named_by_specname_is_known() -> None:
    class Named:
        @hookimpl(specname="olmo_register_taggers")
        def register_my_taggers(self, register: Any) -> None:
            register("named_by_specname", dict)

    class Misnamed:
        @hookimpl(specname="olmo_register_tagger")
        def register_my_taggers(self, register: Any) -> None:
            pass

    host = PluginHost()
    host.register(Named(), "named")
    assert host.registry("taggers").get("named_by_specname").plugin == "named"
    with pytest.raises(PluginError, match=r"implements unknown hook 'olmo_register_tagger' \(did you mean "
                                          r"'olmo_register_taggers'\?\)"):
        host.register(Misnamed(), "misnamed")


class HalfBroken:
    """A good callback, and a tagger whose name a built-in has (the trial's bad/half.py)."""

    @hookimpl
    def olmo_register_callbacks(self, register: Any) -> None:
        register("half_cb", dict)

    @hookimpl
    def olmo_register_taggers(self, register: Any) -> None:
        register("pii", dict)


@pytest.mark.parametrize("first", ["callbacks", "taggers", "models"])
def test_a_plugin_that_fails_in_one_kind_is_left_out_of_every_kind(first: str) -> None:
    host = PluginHost(keep_broken=True)
    host.register(HalfBroken(), "half")
    host.registry(first)  # whichever kind a command builds first
    assert list(host.broken) == ["half"] and "tagger 'pii' is registered twice" in host.broken["half"]
    assert "half_cb" not in host.registry("callbacks") and host.registry("taggers").get("pii").plugin == "data"
    assert "half" not in host.plugins and "half" not in dict(host.pm.list_name_plugin())
    described = host.describe()
    assert "half" not in {p["name"] for p in described["plugins"]}
    assert [b["name"] for b in described["broken"]] == ["half"]


def test_a_strict_host_stops_at_a_plugin_that_fails_in_a_kind_the_command_does_not_build() -> None:
    host = PluginHost()
    host.register(HalfBroken(), "half")
    with pytest.raises(PluginError, match=r"tagger 'pii' is registered twice: by plugin 'data' .* and by plugin "
                                          r"'half' \(from registered\)"):
        host.registry("callbacks")


def test_a_plugin_with_a_bad_config_is_broken_and_left_out() -> None:
    from dataclasses import dataclass

    @dataclass(kw_only=True)
    class NoDefault:
        noval: int

    class BadConfig:
        @hookimpl
        def olmo_register_taggers(self, register: Any) -> None:
            register("bad_types_tagger", dict, config=NoDefault)

    host = PluginHost(keep_broken=True)
    host.register(BadConfig(), "bad_types")
    taggers = host.registry("taggers")
    assert "bad_types_tagger" not in taggers and "pii" in taggers
    assert list(host.broken) == ["bad_types"]
    assert ("NoDefault of tagger 'bad_types_tagger' of plugin 'bad_types' (from registered) cannot be made from its "
            "defaults") in host.broken["bad_types"]


def test_olmo_plugins_shows_aliases_and_exits_0_without_broken_plugins(register_plugin: Any,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from olmo_core.cli import main

    class Aliased:
        @hookimpl
        def olmo_register_taggers(self, register: Any) -> None:
            register("trial_caps", dict, aliases=("trial_caps2",))
            register("trial_many", dict, aliases=("tm1", "tm2"))

    register_plugin(Aliased(), "aliased")
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "trial_caps (alias trial_caps2)" in out and "trial_many (aliases tm1, tm2)" in out
    assert "wikipedia (alias wikipedia-en; +2 presets)" in out
