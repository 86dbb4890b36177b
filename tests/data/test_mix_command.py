from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from olmo_core.documents import read_documents
from olmo_data.mixing.mixers import copies


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from olmo_core.cli import invoke

    root = tmp_path_factory.mktemp("mix") / "ds"
    invoke(["data", "fetch", "sources=[wikipedia,c4]", "limits={wikipedia: 2000}", f"output={root}"])
    return root


def mixed(root: Path) -> list[Any]:
    return [d for f in sorted((root / "documents").rglob("*.jsonl.gz")) for d in read_documents(str(f))]


def test_factors_are_applied_per_document(two_sources: Path, tmp_path: Path, olmo_cli: Any) -> None:
    out = tmp_path / "out"
    result = olmo_cli("data", "mix", f"input={two_sources}", f"output={out}", "mixer.factors={c4: 2.5, wikipedia: 0.3}")
    assert result.exit_code == 0, result.err
    originals = mixed(two_sources)
    expected = [(d.id if k == 0 else f"{d.id}#{k}") for d in originals
                for k in range(copies(d.id, 2.5 if d.source == "c4" else 0.3, seed=0))]
    assert [d.id for d in mixed(out)] == expected
    report = json.loads((out / "reports" / "mix.json").read_text())
    assert report["sources"]["c4"]["documents_out"] == sum(1 for e in expected if e.startswith("c4-"))
    share = report["sources"]["c4"]["share_target"]  # the share the factors give, not a target c4 falls short of
    assert f"c4 is repeated for its {share:.1%} share: its documents are written x2.5 on average" in report["notes"]


def test_proportions_reach_their_shares(two_sources: Path, tmp_path: Path, olmo_cli: Any) -> None:
    out = tmp_path / "out"
    result = olmo_cli("data", "mix", f"input={two_sources}", f"output={out}", "mixer=proportions",
                      "mixer.proportions={c4: 0.5, wikipedia: 0.5}", "workers=2")
    assert result.exit_code == 0, result.err
    sizes = {"c4": 0, "wikipedia": 0}
    for document in mixed(out):
        sizes[document.source] += len(document.text.encode("utf-8"))
    assert sizes["c4"] / sum(sizes.values()) == pytest.approx(0.5, abs=0.03)
    again = tmp_path / "again"
    assert olmo_cli("data", "mix", f"input={two_sources}", f"output={again}", "mixer=proportions",
                    "mixer.proportions={c4: 0.5, wikipedia: 0.5}", "workers=1").exit_code == 0
    for path in sorted((out / "documents").rglob("*.jsonl.gz")):
        assert path.read_bytes() == (again / path.relative_to(out)).read_bytes()


def test_proportions_that_do_not_sum_to_one_are_refused(tmp_path: Path, olmo_cli: Any) -> None:
    result = olmo_cli("data", "mix", f"input={tmp_path}", f"output={tmp_path / 'out'}", "mixer=proportions",
                      "mixer.proportions={wikipedia: 0.7, pydocs: 0.7}")
    assert result.exit_code == 2
    assert "mixer.proportions={'wikipedia': 0.7, 'pydocs': 0.7} must be shares of 0 or more that sum to 1 (they " \
           "sum to 1.4)" in result.err and len(result.err.strip().splitlines()) == 1


def test_a_source_repeated_for_its_share_is_reported(two_sources: Path, tmp_path: Path, olmo_cli: Any) -> None:
    out = tmp_path / "out"
    result = olmo_cli("data", "mix", f"input={two_sources}", f"output={out}", "mixer=proportions",
                      "mixer.proportions={c4: 0.9, wikipedia: 0.1}")
    assert result.exit_code == 0, result.err
    report = json.loads((out / "reports" / "mix.json").read_text())
    c4 = report["sources"]["c4"]
    # the default total is the input's size: c4 needs 0.9 of it and has only its own share_in of it
    assert c4["share_target"] == 0.9 and c4["factor"] == pytest.approx(0.9 / c4["share_in"], rel=1e-4)
    assert report["notes"] == [f"c4 is repeated for its 90.0% share: its documents are written "
                               f"x{c4['factor']:.3g} on average"]
    assert report["notes"][0] in result.err and "(target 90.0%," in result.err
    assert report["notes"][0] in (out / "report.md").read_text()


def test_a_shard_reports_its_own_counts_and_no_share_targets(two_sources: Path, tmp_path: Path,
                                                            olmo_cli: Any) -> None:
    out = tmp_path / "out"
    result = olmo_cli("data", "mix", f"input={two_sources}", f"output={out}", "shard=0/2", "mixer=proportions",
                      "mixer.proportions={c4: 0.3, wikipedia: 0.7}")
    assert result.exit_code == 0, result.err
    report = json.loads((out / "reports" / "mix-shard-0-of-2.json").read_text())
    assert f"mixed shard 0/2 into {report['documents_out']:,} documents" in result.err
    everything = sum(row["documents_in"] for row in report["sources"].values())
    assert f"; factors from all {everything:,} documents" in result.err and report["records"] < everything
    assert not [note for note in report["notes"] if "not its target" in note] and "not its target" not in result.err


def test_a_plugin_mixer_without_a_seed_is_named(two_sources: Path, tmp_path: Path, olmo_cli: Any,
                                                register_plugin: Any) -> None:
    from olmo_core import hookimpl

    class Equal:
        def __init__(self) -> None:
            pass

        def factors(self, sizes: dict[str, int]) -> dict[str, float]:
            return dict.fromkeys(sizes, 1.0)

    class Plugin:
        @hookimpl
        def olmo_register_mixers(self, register: Any) -> None:
            register("equal", Equal)

    register_plugin(Plugin(), "equal-mixer")
    result = olmo_cli("data", "mix", f"input={two_sources}", f"output={tmp_path / 'out'}", "mixer=equal")
    assert result.exit_code == 1
    assert ("mixer 'equal' of plugin 'equal-mixer' (from registered) has no seed (an int): a mixer has both "
            "(olmo_data.mixing.mixers.Mixer)") in result.err


def test_sources_the_proportions_do_not_name_are_named_as_dropped(two_sources: Path, tmp_path: Path,
                                                                  olmo_cli: Any) -> None:
    c4 = sum(1 for f in (two_sources / "documents" / "c4").rglob("*.jsonl.gz") for _ in read_documents(str(f)))
    assert c4 > 1
    out = tmp_path / "out"
    result = olmo_cli("data", "mix", f"input={two_sources}", f"output={out}", "mixer=proportions",
                      "mixer.proportions={wikipedia: 1.0}")
    assert result.exit_code == 0, result.err
    note = (f"c4 is left out of the mix ({c4:,} documents dropped): mixer.proportions does not name it; give it a "
            f"share to keep it")
    report = json.loads((out / "reports" / "mix.json").read_text())
    assert report["sources"]["c4"]["documents_out"] == 0 and report["sources"]["c4"]["documents_in"] == c4
    assert note in report["notes"] and f"warning: {note}" in result.err
    assert not any("wikipedia is left out" in n for n in report["notes"])
    assert f"**Note:** {note}" in (out / "report.md").read_text()


def test_a_rerun_after_an_input_folder_is_gone_leaves_none_of_its_files(tmp_path: Path, olmo_cli: Any) -> None:
    import shutil

    from tests.conftest import two_source_dataset

    root = tmp_path / "rm"
    records = two_source_dataset(root)
    out = tmp_path / "rm_out"
    assert olmo_cli("data", "mix", f"input={root}", f"output={out}").exit_code == 0
    assert len(mixed(out)) == len(records)
    shutil.rmtree(root / "documents" / "c4")
    again = olmo_cli("data", "mix", f"input={root}", f"output={out}")
    assert again.exit_code == 0, again.err
    assert f"removed 1 stale file that an earlier run left in {out} (for input files that are no longer there)" \
        in again.err
    assert not (out / "documents" / "c4").exists()
    assert [d.id for d in mixed(out)] == [r["id"] for r in records[5:]]
    report = json.loads((out / "reports" / "mix.json").read_text())
    assert (report["written"], report["stale_files_removed"]) == (len(records) - 5, 1)


@pytest.mark.parametrize(("options", "error"), [
    (["mixer=proportions", "mixer.proportions={wikipedia: 0.5, pydocs: 0.5}"],
     "mixer.proportions name sources that the input does not have (or that are empty): pydocs (it has c4, wikipedia)"),
    (["mixer.factors={c4: 1, pydocs: 2}"], "factors name sources that the input does not have: pydocs (it has c4, "
                                           "wikipedia)"),
    (["unit=words"], "unit must be 'bytes' or 'tokens', not 'words'")])
def test_a_mix_refused_for_its_config_writes_nothing(two_sources: Path, tmp_path: Path, olmo_cli: Any,
                                                     options: list[str], error: str) -> None:
    out = tmp_path / "mix2"
    result = olmo_cli("data", "mix", f"input={two_sources}", f"output={out}", *options)
    assert result.exit_code == 2, result.err
    assert result.err.strip().splitlines()[-1] == f"error: {error}"
    assert not out.exists()  # neither .incomplete nor reports/mix.json


def test_a_mix_measures_its_sources_once(two_sources: Path, tmp_path: Path, olmo_cli: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from olmo_data.commands import mix

    calls = []
    measure = mix._measure_sources
    monkeypatch.setattr(mix, "_measure_sources", lambda *args: calls.append(args) or measure(*args))
    out = tmp_path / "out"
    result = olmo_cli("data", "mix", f"input={two_sources}", f"output={out}", "mixer.factors={c4: 2}")
    assert result.exit_code == 0, result.err
    assert len(calls) == 1
    report = json.loads((out / "reports" / "mix.json").read_text())
    assert report["sources"]["c4"]["documents_out"] == 2 * report["sources"]["c4"]["documents_in"]


def test_a_mix_lists_its_input_files_once(two_sources: Path, tmp_path: Path, olmo_cli: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """check and run share one listing of the input's files (a listing is a glob: slow on object storage, and two
    listings of a changing input could disagree). The runner's own check that the input is a dataset
    (olmo_core.jobs.execute) lists it too, before the job: only the mix job's listings are counted."""
    import traceback

    from olmo_core import documents
    from olmo_data.commands import mix

    listed = []
    glob = documents.glob

    def counted_glob(pattern: str, *args: Any, **kwargs: Any) -> Any:
        if any(frame.filename == mix.__file__ for frame in traceback.extract_stack()):
            listed.append(pattern)
        return glob(pattern, *args, **kwargs)

    monkeypatch.setattr(documents, "glob", counted_glob)
    out = tmp_path / "out"
    result = olmo_cli("data", "mix", f"input={two_sources}", f"output={out}", "mixer.factors={c4: 2}")
    assert result.exit_code == 0, result.err
    assert listed == [f"{two_sources}/documents/**"]
    report = json.loads((out / "reports" / "mix.json").read_text())
    assert report["files"] == len(list((two_sources / "documents").rglob("*.jsonl.gz")))
    assert report["sources"]["c4"]["documents_out"] == 2 * report["sources"]["c4"]["documents_in"]
