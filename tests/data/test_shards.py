"""Every per-file step is shard-addressable: a sweep over shards writes exactly what one run writes."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from olmo_core.errors import ConfigError
from olmo_data.layout import select_shard
from tests.conftest import stdlib_documents


def test_select_shard() -> None:
    files = [f"f{i}" for i in range(7)]
    assert select_shard(files, "1/3") == [(1, "f1"), (4, "f4")]
    assert sorted(p for s in ("0/3", "1/3", "2/3") for p in select_shard(files, s)) == list(enumerate(files))
    with pytest.raises(ConfigError, match="must look like i/N"):
        select_shard(files, "3/3")


def two_copies_in_three_files(root: Path) -> None:
    """``root/one`` and ``root/swept``: the same real documents, in three files each."""
    records = stdlib_documents()
    for run in ("one", "swept"):
        for shard in range(3):
            target = root / run / "documents" / f"part-{shard}.jsonl.gz"
            target.parent.mkdir(parents=True, exist_ok=True)
            with gzip.open(target, "wt", encoding="utf-8") as f:
                f.writelines(json.dumps(r) + "\n" for r in records[shard::3])


def test_a_sweep_over_shards_equals_one_run(tmp_path: Path, olmo_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    two_copies_in_three_files(tmp_path)
    steps = [("data", "tag", "input={ds}", "taggers=[pii,badwords]"),
             ("data", "tokenize", "input={ds}", "output={ds}/tokens"),
             ("data", "mix", "input={ds}", "output={ds}/mixed", "mixer.factors={{python-docs: 1.5}}")]
    for step in steps:
        whole = olmo_cli(*(a.format(ds=tmp_path / "one") for a in step))
        assert whole.exit_code == 0, whole.err
        swept = olmo_cli(*(a.format(ds=tmp_path / "swept") for a in step), "-m", "shard=0/3,1/3,2/3")
        assert swept.exit_code == 0, swept.err
    def outputs(run: str) -> dict[Path, Any]:
        found: dict[Path, Any] = {}
        for path in sorted((tmp_path / run).rglob("part-*")):
            if "documents" in path.parts and "mixed" not in path.parts:
                continue
            key = path.relative_to(tmp_path / run)
            if path.name.endswith(".meta.json"):  # the same but for the input path, which names each run's files
                meta = json.loads(path.read_text())
                found[key] = {k: v for k, v in meta.items() if k != "input"}
            else:
                found[key] = path.read_bytes()
        return found

    one, swept = outputs("one"), outputs("swept")
    assert len(one) == 3 * 2 + 3 * 3 + 3 and one == swept
    assert sorted(p.name for p in (tmp_path / "swept" / "reports").iterdir() if p.is_file()) == [
        "tag-shard-0-of-3.json", "tag-shard-1-of-3.json", "tag-shard-2-of-3.json"]
    assert sorted(p.name for p in (tmp_path / "swept" / "reports" / "tag").iterdir()) == [  # each job's record
        "shard=0_3", "shard=1_3", "shard=2_3"]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["submitit_local", "joblib"])
def test_a_sweep_through_a_launcher_equals_one_run(launcher: str, tmp_path: Path, olmo_cli: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """submitit_local runs each shard as a submitit job in a process of its own (the code path of
    submitit_slurm); joblib runs them in a pool of worker processes."""
    monkeypatch.chdir(tmp_path)
    two_copies_in_three_files(tmp_path)
    whole = olmo_cli("data", "tag", f"input={tmp_path / 'one'}", "taggers=[pii,badwords]")
    assert whole.exit_code == 0, whole.err
    # as users run it: in a process of its own (whose Hydra store holds only what its plugins register)
    swept = subprocess.run([sys.executable, "-m", "olmo_core", "data", "tag", f"input={tmp_path / 'swept'}",
                            "taggers=[pii,badwords]", "-m", "shard=0/2,1/2", f"hydra/launcher={launcher}",
                            f"hydra.sweep.dir={tmp_path / 'sweep'}"], capture_output=True, text=True, timeout=300)
    assert swept.returncode == 0, swept.stderr[-3000:]

    def attributes(run: str) -> dict[str, bytes]:
        root = tmp_path / run / "attributes"
        return {p.relative_to(root).as_posix(): gzip.decompress(p.read_bytes()) for p in sorted(root.rglob("*.gz"))}

    assert len(attributes("one")) == 6 and attributes("swept") == attributes("one")
    if launcher == "submitit_local":
        jobs = sorted((tmp_path / "sweep" / ".submitit").glob("*/*_result.pkl"))
        assert len(jobs) == 2  # each shard ran as its own submitit job, in its own process
        logs = "".join(p.read_text() for p in (tmp_path / "sweep" / ".submitit").glob("*/*_log.err"))
        assert "olmo data tag shard=0/2" in logs and "olmo data tag shard=1/2" in logs
    else:
        multirun = (tmp_path / "sweep" / "multirun.yaml").read_text()  # the sweep's config, as Hydra saved it
        assert "hydra_joblib_launcher.joblib_launcher.JoblibLauncher" in multirun
    reports = [json.loads((tmp_path / "swept" / "reports" / f"tag-shard-{i}-of-2.json").read_text()) for i in (0, 1)]
    assert [r["files"] for r in reports] == [2, 1] and sum(r["documents"] for r in reports) == len(stdlib_documents())
