"""A data sweep over anything but shards gives each job its own output and compares the jobs afterwards."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import stdlib_documents

RULES = ("length < 100", "length < 1000")


def data_files(root: Path) -> dict[str, bytes]:
    """Every documents/ and dropped/ file under ``root``, by its path below ``root``."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for part in ("documents", "dropped")
            for p in sorted((root / part).rglob("*.gz"))}


def dropped_by(rule: str) -> int:
    """How many of the real documents ``rule`` (``length < N``) drops, counted here from their texts."""
    limit = int(rule.split("<")[1])
    return sum(len(str(r["text"])) < limit for r in stdlib_documents())


def single_dir(rule: str) -> str:
    """The directory name of ``rule``'s single run."""
    return "single-" + rule.split("<")[1].strip()


def filter_alone(olmo_cli: Any, input: Path, output: Path, rule: str) -> None:
    """``olmo data filter`` of ``input`` into ``output`` by ``rule`` alone, outside any sweep."""
    result = olmo_cli("data", "filter", f"input={input}", f"output={output}", f"exclude=['{rule}']")
    assert result.exit_code == 0, result.err


def sweep_over_rules() -> str:
    return "exclude=" + ",".join(f"['{rule}']" for rule in RULES)


def job_name(n: int, rule: str) -> str:
    return f"exclude=_{rule.replace(' < ', '_')}_"


def expected_table(names: list[str]) -> list[str]:
    """The comparison's table for one job per rule, in RULES order, named ``names``, worked out from the texts."""
    n = len(stdlib_documents())
    rows = []
    for name, rule in zip(names, RULES, strict=True):
        d = dropped_by(rule)
        per_rule = [d if other == rule else 0 for other in RULES]
        rows.append(f"| {name} | ['{rule}'] | {n} | {n - d} | {d} | 0 | {' | '.join(map(str, per_rule))} | "
                    f"{n - d} | {d} |")
    header = ("| job | exclude | documents in | written | dropped | quarantined | dropped by length < 100 | "
              "dropped by length < 1000 | python-docs kept | python-docs dropped |")
    return [header, "|" + "---|" * 10, *rows]


def test_a_sweep_over_rules_keeps_each_jobs_documents_and_compares_them(dataset: Path, tmp_path: Path,
                                                                        olmo_cli: Any,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    swept = olmo_cli("data", "filter", f"input={dataset}", f"output={tmp_path / 'out'}", "-m", sweep_over_rules())
    assert swept.exit_code == 0, swept.err
    assert dropped_by(RULES[0]) == 5 and dropped_by(RULES[1]) == 9  # both rules drop some, by different counts
    names = [job_name(n, rule) for n, rule in enumerate(RULES)]
    out = tmp_path / "out"
    assert not (out / "documents").exists()  # nothing shared: each job its own dataset
    for name, rule in zip(names, RULES, strict=True):
        filter_alone(olmo_cli, dataset, tmp_path / single_dir(rule), rule)
        assert data_files(out / name) == data_files(tmp_path / single_dir(rule))
        assert len(data_files(out / name)) == 2  # documents/docs.jsonl.gz and dropped/docs.jsonl.gz
        with gzip.open(out / name / "documents" / "docs.jsonl.gz", "rt", encoding="utf-8") as f:
            assert sum(1 for _ in f) == len(stdlib_documents()) - dropped_by(rule)
    markdown = (out / "comparison.md").read_text()
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert table == expected_table(names)
    summary = json.loads((out / "comparison.json").read_text())
    assert summary["swept"] == ["exclude"]
    assert [(j["job"], j["values"], j["records"], j["written"], j["dropped"], j["dropped_by"], j["per_source"])
            for j in summary["jobs"]] == [
        (name, {"exclude": f"['{rule}']"}, 12, 12 - dropped_by(rule), dropped_by(rule), {rule: dropped_by(rule)},
         {"python-docs": {"kept": 12 - dropped_by(rule), "dropped": dropped_by(rule)}})
        for name, rule in zip(names, RULES, strict=True)]


def three_files(root: Path) -> Path:
    """``root/ds``: the real documents in three files."""
    records = stdlib_documents()
    for shard in range(3):
        target = root / "ds" / "documents" / f"part-{shard}.jsonl.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(target, "wt", encoding="utf-8") as f:
            f.writelines(json.dumps(r) + "\n" for r in records[shard::3])
    return root / "ds"


def test_shards_share_an_output_and_other_swept_values_do_not(tmp_path: Path, olmo_cli: Any,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ds = three_files(tmp_path)
    shards = olmo_cli("data", "filter", f"input={ds}", f"output={tmp_path / 'sharded'}", f"exclude=['{RULES[0]}']",
                      "-m", "shard=0/3,1/3,2/3")
    assert shards.exit_code == 0, shards.err
    both = olmo_cli("data", "filter", f"input={ds}", f"output={tmp_path / 'both'}", "-m", "shard=0/3,1/3,2/3",
                    sweep_over_rules())
    assert both.exit_code == 0, both.err
    for rule in RULES:
        filter_alone(olmo_cli, ds, tmp_path / single_dir(rule), rule)
        assert len(data_files(tmp_path / single_dir(rule))) == 6  # three files kept, three dropped
        # the three shards of one rule write one dataset, named after the rule
        shared = tmp_path / "both" / f"exclude=_{rule.replace(' < ', '_')}_"
        assert data_files(shared) == data_files(tmp_path / single_dir(rule))
    # a sweep over shards alone shares its output
    assert data_files(tmp_path / "sharded") == data_files(tmp_path / single_dir(RULES[0]))
    assert not (tmp_path / "sharded" / "comparison.md").exists()  # shards of one run are not compared
    summary = json.loads((tmp_path / "both" / "comparison.json").read_text())
    assert len(summary["jobs"]) == 6 and sorted(summary["swept"]) == ["exclude", "shard"]
    for rule in RULES:  # the shards of each rule add up to the rule's single run
        jobs = [j for j in summary["jobs"] if j["values"]["exclude"] == f"['{rule}']"]
        assert sorted(j["values"]["shard"] for j in jobs) == ["0/3", "1/3", "2/3"]
        assert sum(j["dropped"] for j in jobs) == dropped_by(rule) and sum(j["records"] for j in jobs) == 12


@pytest.mark.slow
def test_a_rule_sweep_in_processes_of_its_own(dataset: Path, tmp_path: Path, olmo_cli: Any) -> None:
    """Each job runs in a process of its own (Hydra's submitit launcher): the jobs still learn what the sweep
    varies, write their own outputs, and the last one compares them."""
    swept = subprocess.run([sys.executable, "-m", "olmo_core", "data", "filter", f"input={dataset}",
                            f"output={tmp_path / 'out'}", "-m", sweep_over_rules(), "hydra/launcher=submitit_local",
                            f"hydra.sweep.dir={tmp_path / 'sweep'}"], capture_output=True, text=True, timeout=300,
                           cwd=tmp_path, check=False)
    assert swept.returncode == 0, swept.stderr[-3000:]
    assert len(list((tmp_path / "sweep" / ".submitit").glob("*/*_result.pkl"))) == 2  # two processes
    names = [job_name(n, rule) for n, rule in enumerate(RULES)]
    for name, rule in zip(names, RULES, strict=True):
        filter_alone(olmo_cli, dataset, tmp_path / single_dir(rule), rule)
        assert data_files(tmp_path / "out" / name) == data_files(tmp_path / single_dir(rule))
    table = [line for line in (tmp_path / "out" / "comparison.md").read_text().splitlines() if line.startswith("|")]
    assert table == expected_table(names)


def paragraphs_checked(root: Path) -> int:
    """The paragraphs the ``bloom`` deduper's attributes under ``root`` say it checked, from its report."""
    return json.loads((root / "reports" / "dedup-bloom.json").read_text())["counts"]["paragraphs"]


def test_an_in_place_sweep_gives_each_job_its_own_attributes(dataset: Path, olmo_cli: Any) -> None:
    """A sweep over a deduper's option, in place (no output=): each job marks into its own directory, not into the
    dataset where the next job would overwrite it, and each job's marks are those of a single run with its value."""
    swept = olmo_cli("data", "dedup", f"input={dataset}", "dedupers=[bloom]", "-m",
                     "dedupers.bloom.min_chars=20,60")
    assert swept.exit_code == 0, swept.err
    assert not (dataset / "attributes").exists()
    jobs = sorted((dataset / "reports" / "dedup").glob("dedupers.bloom.min_chars=*"))
    assert [job.name for job in jobs] == ["dedupers.bloom.min_chars=20", "dedupers.bloom.min_chars=60"]
    for job, min_chars in zip(jobs, (20, 60), strict=True):
        lines = [line for r in stdlib_documents() for line in str(r["text"]).split("\n")]
        expected = sum(len(" ".join(line.split())) >= min_chars for line in lines)  # whitespace-normalized lines
        assert paragraphs_checked(job) == expected > 0
        rows = (job / "attributes" / "bloom" / "docs.jsonl.gz").read_bytes()
        assert len(gzip.decompress(rows).splitlines()) == len(stdlib_documents())
    assert paragraphs_checked(jobs[0]) > paragraphs_checked(jobs[1])
    compared = json.loads((dataset / "reports" / "dedup" / "comparison.json").read_text())["jobs"]  # from the reports
    assert [job["results"]["bloom.counts.paragraphs"] for job in compared] == list(map(paragraphs_checked, jobs))
    assert "| bloom.counts.paragraphs |" in (dataset / "reports" / "dedup" / "comparison.md").read_text()
    (dataset / "reports" / "dedup").rename(dataset.parent / "sweep")
    single = olmo_cli("data", "dedup", f"input={dataset}", "dedupers=[bloom]", "dedupers.bloom.min_chars=60")
    assert single.exit_code == 0, single.err
    assert (dataset / "attributes" / "bloom" / "docs.jsonl.gz").read_bytes() == \
        (dataset.parent / "sweep" / jobs[1].name / "attributes" / "bloom" / "docs.jsonl.gz").read_bytes()


def test_a_one_value_split_sweep_names_its_job_after_the_value(tmp_path: Path, olmo_cli: Any) -> None:
    """``-m shard=1/3`` (or ``partition=i/N``) alone is one job, named after its value, so that the records of the
    runs of the other shards (partitions) do not overwrite it."""
    ds = three_files(tmp_path)
    tagged = olmo_cli("data", "tag", f"input={ds}", "taggers=[pii]", "-m", "shard=1/3")
    assert tagged.exit_code == 0, tagged.err
    assert "[sweep job 0] olmo data tag shard=1/3" in tagged.err
    assert sorted(p.name for p in (ds / "reports" / "tag").iterdir()) == ["shard=1_3"]
    assert (ds / "reports" / "tag" / "shard=1_3" / "result.json").is_file()
    features = olmo_cli("data", "dedup", f"input={ds}", "dedupers=[exact]", "phase=features")
    assert features.exit_code == 0, features.err
    for partition in ("0/2", "1/2"):
        decided = olmo_cli("data", "dedup", f"input={ds}", "dedupers=[exact]", "phase=decide", "-m",
                           f"partition={partition}")
        assert decided.exit_code == 0, decided.err
        assert f"[sweep job 0] olmo data dedup partition={partition}" in decided.err
    jobs = sorted(p.name for p in (ds / "reports" / "dedup").iterdir() if p.is_dir())
    assert jobs == ["partition=0_2", "partition=1_2"]
    assert all((ds / "reports" / "dedup" / job / "result.json").is_file() for job in jobs)


def filter_sweep_in_processes(ds: Path, tmp_path: Path, launcher: str, *, full: bool = False) -> Any:
    """``olmo data filter`` of ``ds`` by an expression that fails on every document (its check, before the sweep,
    passes), over two shards, through ``launcher``."""
    env = {**os.environ, "OLMO_FULL_ERROR": "1" if full else "0"}
    return subprocess.run([sys.executable, "-m", "olmo_core", "data", "filter", f"input={ds}",
                           f"output={tmp_path / 'out'}", "exclude='length / 0 > 1'", "-m", "shard=0/2,1/2",
                           f"hydra/launcher={launcher}", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False, env=env)


@pytest.mark.parametrize("launcher", ["joblib", "submitit_local"])
def test_a_job_failing_in_a_process_of_its_own_is_one_line(launcher: str, tmp_path: Path) -> None:
    ds = three_files(tmp_path)
    failed = filter_sweep_in_processes(ds, tmp_path, launcher)
    error = "filter expression 'length / 0 > 1' fails on a document: division by zero"
    summary = f"error: 2 of 2 sweep jobs of `olmo data filter` failed: shard=0/2: {error}; shard=1/2: {error}"
    assert failed.returncode == 1 and "Traceback" not in failed.stderr and "Error executing job" not in failed.stderr
    assert failed.stderr.splitlines()[-1] == summary
    if launcher == "joblib":  # the jobs' own lines (submitit keeps them in each job's log)
        assert sorted(line for line in failed.stderr.splitlines() if "[sweep job failed]" in line) == [
            f"error: [sweep job failed] shard={shard}: {error}" for shard in ("0/2", "1/2")]
    full = filter_sweep_in_processes(ds, tmp_path, launcher, full=True)
    assert full.returncode == 1 and "Traceback" in full.stderr
    assert full.stderr.splitlines()[-1] == summary


def test_the_comparison_lists_failed_jobs(dataset: Path, tmp_path: Path, olmo_cli: Any) -> None:
    """A job of the sweep fails (its rule fails on every document): the comparison still counts it, with its error,
    also when it leaves one finished job."""
    bad = "length / 0 > 1"
    error = "filter expression 'length / 0 > 1' fails on a document: division by zero"
    three = olmo_cli("data", "filter", f"input={dataset}", f"output={tmp_path / 'three'}", "-m",
                     sweep_over_rules() + f",['{bad}']")
    assert three.exit_code == 1 and "1 of 3 sweep jobs of `olmo data filter` failed" in three.err
    markdown = (tmp_path / "three" / "comparison.md").read_text().splitlines()
    assert markdown[2] == ("3 jobs, over exclude, 1 of them failed; documents in, written, dropped and quarantined, "
                           "dropped (or, tagging, failing) per rule and kept/dropped per source:")
    names = [job_name(n, rule) for n, rule in enumerate(RULES)]
    header, rule, *rows = expected_table(names)
    table = [line for line in markdown if line.startswith("|")]
    assert table == [header + " error |", rule + "---|", *(row + " - |" for row in rows),
                     f"| exclude=_length_0_1_ | ['{bad}'] |" + " - |" * 8 + f" {error} |"]
    summary = json.loads((tmp_path / "three" / "comparison.json").read_text())
    assert [(j["job"], j.get("error")) for j in summary["jobs"]] == [
        (names[0], None), (names[1], None), ("exclude=_length_0_1_", error)]
    two = olmo_cli("data", "filter", f"input={dataset}", f"output={tmp_path / 'two'}", "-m",
                   f"exclude=['{RULES[0]}'],['{bad}']")
    assert two.exit_code == 1 and "1 of 2 sweep jobs of `olmo data filter` failed" in two.err
    table = [line for line in (tmp_path / "two" / "comparison.md").read_text().splitlines() if line.startswith("|")]
    assert table[2:] == [f"| {names[0]} | ['{RULES[0]}'] | 12 | 7 | 5 | 0 | 5 | 7 | 5 | - |",
                         f"| exclude=_length_0_1_ | ['{bad}'] |" + " - |" * 7 + f" {error} |"]


def test_a_sweep_in_processes_of_their_own_says_where_each_job_logged(tmp_path: Path) -> None:
    """submitit keeps a job's output in a file of its own: the sweep ends with a line per job naming that file."""
    ds = three_files(tmp_path)
    swept = subprocess.run([sys.executable, "-m", "olmo_core", "data", "tag", f"input={ds}", "taggers=[pii]", "-m",
                            "shard=0/2,1/2", "hydra/launcher=submitit_local", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
                           capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False)
    assert swept.returncode == 0, swept.stderr[-3000:]
    logs = {int(re.findall(r"\[sweep job (\d)\]", p.read_text())[0]): p
            for p in (tmp_path / "sweep" / ".submitit").glob("*/*_log.err")}
    assert sorted(logs) == [0, 1]
    assert swept.stderr.splitlines() == [f"[sweep job {n}] olmo data tag shard={n}/2: done; its log: {logs[n]}"
                                         for n in (0, 1)]
    for n, path in logs.items():
        assert f"[sweep job {n}] olmo data tag shard={n}/2\ntagged " in path.read_text()


def test_a_tag_sweep_compares_the_documents_failing_each_rule(dataset: Path, tmp_path: Path, olmo_cli: Any,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = olmo_cli("data", "tag", f"input={dataset}", "taggers=[gopher_quality]", "-m",
                      "taggers.gopher_quality.min_doc_words=50,400")
    assert result.exit_code == 0, result.err
    base = dataset / "reports" / "tag"
    jobs = json.loads((base / "comparison.json").read_text())["jobs"]
    for job in jobs:  # each job's failing counts, as its own report has them
        report = json.loads((base / job["job"] / "reports" / "tag.json").read_text())
        assert job["failing"] == report["failing"]
    short = [job["failing"].get("gopher_quality: gopher_short_doc", 0) for job in jobs]
    assert short[0] < short[1]  # a minimum of 400 words fails more documents than one of 50
    header = next(line for line in (base / "comparison.md").read_text().splitlines() if line.startswith("| job"))
    assert "| failing gopher_quality: gopher_short_doc |" in header


def test_a_sweep_two_of_whose_jobs_would_share_a_directory_is_refused_before_any_runs(dataset: Path, tmp_path: Path,
                                                                                      olmo_cli: Any) -> None:
    out = tmp_path / "out"
    result = olmo_cli("data", "filter", f"input={dataset}", f"output={out}", "-m",
                      "exclude=['length < 100'],['length > 100']")
    assert result.exit_code == 2
    assert result.err == ("error: the sweep's jobs exclude=['length < 100'] and exclude=['length > 100'] would both "
                          "work in <output>/exclude=_length_100_: their values differ only in characters a directory "
                          "name cannot hold; run them in sweeps of their own (another output=)\n")
    assert not out.exists()
